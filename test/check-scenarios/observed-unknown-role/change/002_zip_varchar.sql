ALTER TABLE users.account ALTER COLUMN city TYPE varchar(40);
