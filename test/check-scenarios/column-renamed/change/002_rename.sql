ALTER TABLE users.account
  RENAME COLUMN street_and_number TO address_line;
