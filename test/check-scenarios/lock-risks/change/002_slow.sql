CREATE INDEX invoice_issued_idx ON invoicing.invoice (issued_at);
ALTER TABLE invoicing.invoice ADD COLUMN created_at timestamptz DEFAULT clock_timestamp();
ALTER TABLE invoicing.invoice ALTER COLUMN issued_at DROP NOT NULL;
ALTER TABLE invoicing.invoice ADD COLUMN paid boolean;
ALTER TABLE invoicing.invoice ALTER COLUMN paid SET NOT NULL;
ALTER TABLE invoicing.invoice ADD CONSTRAINT invoice_amount_positive CHECK (amount > 0);
