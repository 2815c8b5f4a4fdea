-- No service declares a migrations folder: the shadow starts empty.
CREATE TABLE users.account (id bigint PRIMARY KEY, email text);
