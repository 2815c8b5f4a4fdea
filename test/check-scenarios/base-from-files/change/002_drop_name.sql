ALTER TABLE users.account DROP COLUMN name;
