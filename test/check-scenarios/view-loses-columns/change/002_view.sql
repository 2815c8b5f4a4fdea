DROP VIEW users.account_address;
CREATE VIEW users.account_address AS
  SELECT id, street_and_number FROM users.account;
