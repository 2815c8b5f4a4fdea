ALTER TABLE users.account RENAME COLUMN zip TO postal_code;
