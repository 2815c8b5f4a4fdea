ALTER TABLE users.preference ALTER COLUMN newsletter DROP DEFAULT;
