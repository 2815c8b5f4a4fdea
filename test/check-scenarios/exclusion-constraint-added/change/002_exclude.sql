ALTER TABLE users.preference ADD COLUMN quiet_hours tsrange;
ALTER TABLE users.preference
  ADD CONSTRAINT preference_quiet_hours_excl EXCLUDE USING gist (quiet_hours WITH &&);
