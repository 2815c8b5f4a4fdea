-- reporting's own table in public: fine
ALTER TABLE public.report_runs ADD COLUMN note text;
-- users' table in public: an ownership violation
ALTER TABLE public.account ADD COLUMN reported_at timestamptz;
