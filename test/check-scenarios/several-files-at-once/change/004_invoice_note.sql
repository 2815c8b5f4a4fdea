ALTER TABLE invoicing.invoice ADD COLUMN note text;
ALTER TABLE invoicing.invoice ALTER COLUMN amount TYPE numeric(14, 2);
