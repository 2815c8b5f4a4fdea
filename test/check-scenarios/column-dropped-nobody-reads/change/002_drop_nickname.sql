ALTER TABLE users.account DROP COLUMN nickname;
