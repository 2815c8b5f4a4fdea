CREATE TABLE public.invoices (
  id       bigint PRIMARY KEY,
  order_id bigint NOT NULL,
  number   text NOT NULL DEFAULT public.order_next_number()
);
