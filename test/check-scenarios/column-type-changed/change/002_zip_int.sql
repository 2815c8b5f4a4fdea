ALTER TABLE users.account ALTER COLUMN zip TYPE integer USING zip::integer;
