import type { Tables } from '../shared-database/shared/tables.js';

/** Every table in `public`, as many teams start. */
export const ONE_SCHEMA: Tables = { account: 'public.account', invoice: 'public.invoice' };

/** After invoicing's table moved into its own schema (pgpact migrate, move_table). */
export const INVOICE_MOVED: Tables = { account: 'public.account', invoice: 'invoicing.invoice' };
