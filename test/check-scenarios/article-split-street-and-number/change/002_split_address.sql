-- Team A splits STREET_AND_NUMBER into STREET and NUMBER (the article's scenario 1).
ALTER TABLE users.account ADD COLUMN street text, ADD COLUMN number text;
UPDATE users.account
   SET street = regexp_replace(street_and_number, '\s*\S+$', ''),
       number = substring(street_and_number from '\S+$');
ALTER TABLE users.account DROP COLUMN street_and_number;
