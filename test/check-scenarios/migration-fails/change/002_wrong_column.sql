-- street does not exist yet: this migration cannot apply to the current schema
ALTER TABLE users.account ADD COLUMN phone text;
UPDATE users.account SET phone = street;
ALTER TABLE users.account DROP COLUMN nickname;
