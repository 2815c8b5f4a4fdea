-- Service B's invoices keep a snapshot of the billing address taken from users.account
-- when the invoice is made. account_id refers to users.account.id without a foreign key:
-- a constraint across services would couple their migrations even more.
CREATE TABLE invoicing.invoice (
  id                        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  account_id                bigint NOT NULL,
  billing_name              text NOT NULL,
  billing_street_and_number text NOT NULL,
  billing_zip               text NOT NULL,
  billing_city              text NOT NULL,
  amount                    numeric(12, 2) NOT NULL CHECK (amount > 0),
  created_at                timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX invoice_account_id_idx ON invoicing.invoice (account_id);
