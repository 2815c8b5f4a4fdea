ALTER TABLE users.preference ALTER COLUMN language SET NOT NULL;
