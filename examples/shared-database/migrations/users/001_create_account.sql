-- Service A's user table, as in the article: name and address columns.
CREATE TABLE users.account (
  id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name              text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  street_and_number text NOT NULL,
  zip               text NOT NULL,
  city              text NOT NULL,
  created_at        timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX account_created_at_idx ON users.account (created_at);
