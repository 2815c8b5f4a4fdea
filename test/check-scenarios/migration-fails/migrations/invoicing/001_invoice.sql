CREATE TABLE invoicing.invoice (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  account_id bigint NOT NULL,
  amount     numeric(12, 2) NOT NULL,
  issued_at  timestamptz NOT NULL DEFAULT now()
);
