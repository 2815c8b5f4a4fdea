ALTER TABLE users.account ADD COLUMN email text;
