ALTER TABLE users.account ADD COLUMN phone text;
