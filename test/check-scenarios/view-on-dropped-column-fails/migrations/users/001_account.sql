-- Service A's user table, as in the article.
CREATE TABLE users.account (
  id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name              text NOT NULL,
  street_and_number text NOT NULL,
  zip               text NOT NULL,
  city              text NOT NULL,
  nickname          text,
  created_at        timestamptz NOT NULL DEFAULT now()
);

-- What other services should read instead of the table.
CREATE VIEW users.account_address AS
  SELECT id, street_and_number, zip, city FROM users.account;
