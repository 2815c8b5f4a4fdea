ALTER TABLE users.account RENAME TO customer;
