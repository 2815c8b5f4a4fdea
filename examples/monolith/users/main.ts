import { runService } from '../../shared-database/shared/service-process.js';
import { createUsersApp } from '../../shared-database/users/app.js';
import { ONE_SCHEMA } from '../tables.js';

// Service A of the monolith: the same users service, its table in public.
await runService('users', 5, (pool) => createUsersApp(pool, ONE_SCHEMA));
