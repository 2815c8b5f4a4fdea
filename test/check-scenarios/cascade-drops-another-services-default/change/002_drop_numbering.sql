-- orders' own function, but CASCADE also removes the default of billing's public.invoices.number
DROP FUNCTION public.order_next_number() CASCADE;
