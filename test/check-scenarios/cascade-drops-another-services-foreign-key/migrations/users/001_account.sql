CREATE TABLE public.account (id bigint PRIMARY KEY, name text NOT NULL, zip text);
