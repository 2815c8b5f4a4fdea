import { createInvoicingApp } from '../../shared-database/invoicing/app.js';
import { runService } from '../../shared-database/shared/service-process.js';
import { INVOICE_MOVED } from '../tables.js';

// Service B after its table moved: it names invoicing.invoice.
await runService('invoicing', 5, (pool) => createInvoicingApp(pool, INVOICE_MOVED));
