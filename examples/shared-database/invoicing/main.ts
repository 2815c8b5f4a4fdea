import { runService } from '../shared/service-process.js';
import { createInvoicingApp } from './app.js';

// Environment: DATABASE_URL (the invoicing role), PORT (0 = free port), POOL_SIZE (default 5).
await runService('invoicing', 5, createInvoicingApp);
