ALTER TABLE users.account ADD COLUMN town text;

ALTER TABLE users.account
  DROP COLUMN city;
