import type { DemoChapter } from '../../types.js';
import type { MonolithContext } from '../types.js';
import { enforceChapter } from './enforce.js';
import { initAuditChapter } from './init-audit.js';
import { moveTableChapter } from './move-table.js';
import { observeReaderChapter } from './observe-reader.js';

/** The brownfield story, in order (`pgpact demo --monolith`). Add a chapter: a module here, listed below. */
export const MONOLITH_CHAPTERS: DemoChapter<MonolithContext>[] = [
  initAuditChapter,
  observeReaderChapter,
  moveTableChapter,
  enforceChapter,
];
