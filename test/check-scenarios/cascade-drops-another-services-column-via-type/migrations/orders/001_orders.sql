CREATE TYPE public.order_status AS ENUM ('open', 'paid', 'cancelled');
CREATE TABLE public.orders (id bigint PRIMARY KEY, status public.order_status NOT NULL);
