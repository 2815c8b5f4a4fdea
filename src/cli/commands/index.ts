import type { Command } from '../command.js';
import { applyCommand } from './apply.js';
import { analyzeCommand } from './analyze.js';
import { checkCommand } from './check.js';
import { dashboardCommand } from './dashboard.js';
import { dbCommand } from './db.js';
import { demoCommand } from './demo.js';
import { initCommand } from './init.js';
import { metricsCommand } from './metrics.js';
import { migrateCommand } from './migrate.js';
import { observeCommand } from './observe.js';
import { planCommand } from './plan.js';
import { poolCommand } from './pool.js';
import { reportCommand } from './report.js';
import { topCommand } from './top.js';

/** Every command of the CLI, in the order --help lists them. Add one line per new command. */
export const COMMANDS: Command[] = [
  demoCommand,
  dbCommand,
  initCommand,
  planCommand,
  applyCommand,
  analyzeCommand,
  observeCommand,
  checkCommand,
  migrateCommand,
  dashboardCommand,
  topCommand,
  metricsCommand,
  reportCommand,
  poolCommand,
];
