DROP TABLE invoicing.invoice;
CREATE TABLE invoicing.invoice (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  account_id bigint NOT NULL,
  total      numeric(12, 2) NOT NULL
);
