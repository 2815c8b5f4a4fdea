-- orders drops its status column and type; CASCADE also drops billing's public.invoices.order_status
ALTER TABLE public.orders DROP COLUMN status;
DROP TYPE public.order_status CASCADE;
