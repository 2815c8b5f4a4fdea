SET lock_timeout = '2s';
CREATE INDEX CONCURRENTLY invoice_issued_idx ON invoicing.invoice (issued_at);
ALTER TABLE invoicing.invoice ADD COLUMN created_at timestamptz DEFAULT now();
ALTER TABLE invoicing.invoice ADD CONSTRAINT invoice_amount_positive CHECK (amount > 0) NOT VALID;
ALTER TABLE invoicing.invoice VALIDATE CONSTRAINT invoice_amount_positive;
