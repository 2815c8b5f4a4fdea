-- invoicing's migration adds a column to team A's table
ALTER TABLE users.account ADD COLUMN billing_email text;
CREATE INDEX invoice_account_idx ON invoicing.invoice (account_id);
