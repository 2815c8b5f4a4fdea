import { createReportingApp } from '../../shared-database/reporting/app.js';
import { runService } from '../../shared-database/shared/service-process.js';
import { ONE_SCHEMA } from '../tables.js';

// Service C of the monolith: reads public.account and public.invoice; nobody was told.
await runService('reporting', 3, (pool) => createReportingApp(pool, ONE_SCHEMA));
