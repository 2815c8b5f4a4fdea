SET lock_timeout = '2s';
CREATE UNIQUE INDEX CONCURRENTLY preference_theme_key ON users.preference (theme);
