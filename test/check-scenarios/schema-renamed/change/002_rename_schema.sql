ALTER SCHEMA legacy RENAME TO legacy_v1;
