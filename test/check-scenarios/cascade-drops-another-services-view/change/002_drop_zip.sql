-- users' own column, but CASCADE also drops reporting's view public.report_accounts
ALTER TABLE public.account DROP COLUMN zip CASCADE;
