/**
 * Where the services find their tables. Here each service has its schema; the same services
 * run against examples/monolith's one-schema database with its names (`public.account`, ...),
 * and a deployed version can name a table's new home after it moved.
 */
export interface Tables {
  /** Service A's accounts, e.g. `users.account`. */
  account: string;
  /** Service B's invoices, e.g. `invoicing.invoice`. */
  invoice: string;
}

/** The tables of this example: a schema per service. */
export const SCHEMA_PER_SERVICE: Tables = {
  account: 'users.account',
  invoice: 'invoicing.invoice',
};
