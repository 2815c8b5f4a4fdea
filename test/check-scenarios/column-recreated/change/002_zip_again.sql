ALTER TABLE users.account DROP COLUMN zip;
ALTER TABLE users.account ADD COLUMN zip integer;
