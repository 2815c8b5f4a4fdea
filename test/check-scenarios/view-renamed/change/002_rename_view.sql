ALTER VIEW users.account_address RENAME TO postal_address;
