ALTER TABLE users.account RENAME TO person;
-- the next statement names the table by its new name
ALTER TABLE users.person RENAME COLUMN name TO full_name;
