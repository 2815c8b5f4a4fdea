-- users' own table, but CASCADE also drops the foreign key of reporting's public.report_runs
DROP TABLE public.account CASCADE;
