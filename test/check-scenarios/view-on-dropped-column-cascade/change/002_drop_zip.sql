-- CASCADE silently drops users.account_address, which reporting reads
ALTER TABLE users.account DROP COLUMN zip CASCADE;
