import { runService } from '../shared/service-process.js';
import { createInvoicingV2App } from './app-v2.js';

// Invoicing v2 (reads street and number; its contract must grant them: see ../README.md).
// Environment: DATABASE_URL (the invoicing role), PORT (0 = free port), POOL_SIZE (default 5).
await runService('invoicing', 5, createInvoicingV2App);
