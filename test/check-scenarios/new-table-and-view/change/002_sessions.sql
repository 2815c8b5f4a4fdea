CREATE TABLE users.session (
  id         uuid PRIMARY KEY,
  account_id bigint NOT NULL REFERENCES users.account (id),
  started_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX session_account_idx ON users.session (account_id);
CREATE VIEW users.active_session AS SELECT id, account_id FROM users.session;
