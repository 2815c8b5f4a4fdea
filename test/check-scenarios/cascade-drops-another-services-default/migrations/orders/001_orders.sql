CREATE TABLE public.orders (id bigint PRIMARY KEY, total numeric(12, 2) NOT NULL);
-- orders' numbering function, which billing's invoices use for their default
CREATE SEQUENCE public.order_numbers;
CREATE FUNCTION public.order_next_number() RETURNS text LANGUAGE sql
  AS $$ SELECT 'N-' || nextval('public.order_numbers') $$;
GRANT USAGE ON SEQUENCE public.order_numbers TO PUBLIC;
