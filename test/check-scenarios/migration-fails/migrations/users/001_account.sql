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
