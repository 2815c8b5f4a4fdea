import { createReportingApp } from '../../shared-database/reporting/app.js';
import { runService } from '../../shared-database/shared/service-process.js';
import { INVOICE_MOVED } from '../tables.js';

// Service C once it follows the move: its revenue report reads invoicing.invoice.
await runService('reporting', 3, (pool) => createReportingApp(pool, INVOICE_MOVED));
