-- billing copies the order's status into its own table, with orders' enum type
CREATE TABLE public.invoices (id bigint PRIMARY KEY, order_id bigint NOT NULL, order_status public.order_status);
