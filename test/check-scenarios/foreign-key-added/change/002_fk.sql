ALTER TABLE users.preference
  ADD CONSTRAINT preference_account_fk FOREIGN KEY (account_id) REFERENCES users.account (id);
