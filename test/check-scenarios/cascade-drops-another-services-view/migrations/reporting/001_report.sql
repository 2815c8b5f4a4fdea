CREATE VIEW public.report_accounts AS SELECT id, zip FROM public.account;
CREATE TABLE public.report_runs (id int PRIMARY KEY, account_id bigint REFERENCES public.account (id));
