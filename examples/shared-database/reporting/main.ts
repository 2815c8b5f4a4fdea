import { runService } from '../shared/service-process.js';
import { createReportingApp } from './app.js';

// Environment: DATABASE_URL (the reporting role), PORT (0 = free port), POOL_SIZE (default 3).
await runService('reporting', 3, createReportingApp);
