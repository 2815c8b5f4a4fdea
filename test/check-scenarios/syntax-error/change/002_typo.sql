ALTER TABLE users.account ADD COLUMN phone text;
ALTER TABLE users.account
  ADD COLUM email text;
