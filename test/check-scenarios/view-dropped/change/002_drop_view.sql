DROP VIEW users.account_address;
