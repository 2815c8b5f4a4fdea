SET lock_timeout = '1s';
ALTER TABLE users.account DROP COLUMN zip;
