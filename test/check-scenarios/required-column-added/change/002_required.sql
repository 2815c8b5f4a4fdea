ALTER TABLE users.preference ADD COLUMN timezone text NOT NULL;
