import { runService } from '../shared/service-process.js';
import { createUsersApp } from './app.js';

// Environment: DATABASE_URL (the users role), PORT (0 = free port), POOL_SIZE (default 5).
await runService('users', 5, createUsersApp);
