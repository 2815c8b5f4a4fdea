-- A monolith's schema as pg_dump gives it: everything in public, everything the admin's.
CREATE TABLE public.orders (
  id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  customer text NOT NULL,
  total    numeric(12, 2) NOT NULL,
  note     text
);
CREATE TABLE public.order_lines (
  order_id bigint NOT NULL REFERENCES public.orders (id),
  sku      text NOT NULL
);
CREATE TABLE public.invoices (
  id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  order_id bigint NOT NULL,
  amount   numeric(12, 2) NOT NULL
);
CREATE VIEW public.report_revenue AS SELECT sum(total) AS revenue FROM public.orders;
