import type { DemoChapter } from '../types.js';
import { checkChapter } from './check.js';
import { dashboardChapter } from './dashboard.js';
import { migrateChapter } from './migrate.js';
import { observeChapter } from './observe.js';
import { ownershipEnforced } from './ownership-enforced.js';
import { deadlockChapter } from './runtime-deadlock.js';
import { lockWaitChapter } from './runtime-lock-wait.js';
import { noisyNeighbourChapter } from './runtime-noisy-neighbour.js';
import { servicesUnderLoad } from './services-under-load.js';
import { unownedData } from './unowned-data.js';

/** The story, in order. Add a chapter: write a module in this folder and add it here (see ../README.md). */
export const DEMO_CHAPTERS: DemoChapter[] = [
  ownershipEnforced,
  unownedData,
  servicesUnderLoad,
  observeChapter,
  noisyNeighbourChapter,
  lockWaitChapter,
  deadlockChapter,
  checkChapter,
  // The map as the story left it, before scenario 2 changes users.account.
  dashboardChapter,
  migrateChapter,
];
