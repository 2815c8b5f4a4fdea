import { runService } from '../shared/service-process.js';
import { createUsersV2App } from './app-v2.js';

// Users v2 (street and number; needs `pgpact migrate start split-street-and-number` first).
// Environment: DATABASE_URL (the users role), PORT (0 = free port), POOL_SIZE (default 5).
await runService('users', 5, createUsersV2App);
