import { createInvoicingApp } from '../../shared-database/invoicing/app.js';
import { runService } from '../../shared-database/shared/service-process.js';
import { ONE_SCHEMA } from '../tables.js';

// Service B of the monolith: writes public.invoice, reads public.account's name and address.
await runService('invoicing', 5, (pool) => createInvoicingApp(pool, ONE_SCHEMA));
