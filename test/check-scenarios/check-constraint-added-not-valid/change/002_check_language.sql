ALTER TABLE users.preference
  ADD CONSTRAINT preference_language_check CHECK (language IN ('en', 'de', 'fr')) NOT VALID;
