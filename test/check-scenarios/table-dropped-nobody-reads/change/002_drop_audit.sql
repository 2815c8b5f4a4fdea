DROP TABLE legacy.audit_log;
