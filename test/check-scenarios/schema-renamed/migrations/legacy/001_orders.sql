CREATE TABLE legacy.orders (id int PRIMARY KEY, total numeric NOT NULL);
CREATE TABLE legacy.audit_log (id int PRIMARY KEY, line text);
