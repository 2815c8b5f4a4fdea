-- No schema: the users role's search_path ("$user", public) finds users.account
ALTER TABLE account DROP COLUMN city;
