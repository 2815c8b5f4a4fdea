DROP TABLE legacy.orders;
