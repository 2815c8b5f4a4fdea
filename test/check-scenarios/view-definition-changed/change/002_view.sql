CREATE OR REPLACE VIEW users.account_address AS
  SELECT id, street_and_number, zip, city FROM users.account WHERE city <> '';
