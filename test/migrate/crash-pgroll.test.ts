import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import { withClient } from '../../src/postgres/client.js';
import { describeEachServer } from '../helpers/postgres.js';
import { runCli } from './helpers.js';
import {
  createItems,
  expectItemsCompleted,
  PGROLL_CRASH_MIGRATION,
} from './crash-pgroll-fixture.js';

const ROWS = 20_000;
const KILLS = 12;
const FIRST_STEP =
  /^(plan|resuming|expand|backfill|validate|index|unique|check who|contract|drop)/m;

/** Whatever was killed: every row the expand reached holds up(old). */
async function checkAfterKill(url: string, log: string[]): Promise<void> {
  await withClient(url, async (c) => {
    const has = await c.query(
      `SELECT 1 FROM pg_attribute WHERE attrelid = 'items'::regclass AND attname = '_pgpact_new_sku' AND NOT attisdropped`,
    );
    if (has.rows.length === 0) return;
    const wrong =
      await c.query(`SELECT count(*)::int AS n FROM items WHERE _pgpact_new_sku IS NOT NULL
      AND _pgpact_new_sku IS DISTINCT FROM CASE WHEN sku IS NULL THEN 'none-' || id ELSE sku || '-' || id END`);
    expect(wrong.rows[0].n, log.join('\n')).toBe(0);
  });
}

describeEachServer('SIGKILL during pgroll operations', (server) => {
  it(`resumes after ≥ ${KILLS} kills across start and complete; data and schema right`, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgpact-crash-pgroll-'));
    const file = path.join(dir, '01_items.yaml');
    fs.writeFileSync(file, PGROLL_CRASH_MIGRATION);
    const seed = Number(process.env.PGPACT_CRASH_SEED ?? Date.now() % 1_000_000);
    let state = seed >>> 0;
    const random = () => {
      state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
      return state / 4294967296;
    };
    // Calibrate: how long start and complete work once they printed their first step.
    const spans: number[] = [];
    const calibration = await server().createDatabase();
    await createItems(calibration, ROWS);
    for (const args of [
      ['migrate', 'start', file, '--batch-size', '500', '--database-url', calibration],
      ['migrate', 'complete', '--force', '--database-url', calibration],
    ]) {
      const run = await runCli(args, { trigger: FIRST_STEP });
      expect(run.code, run.stderr).toBe(0);
      spans.push(run.triggerToResultMs ?? 500);
    }
    let kills = 0;
    const log: string[] = [`seed ${seed}, spans ${spans.join(', ')} ms`];
    for (let cycle = 0; cycle < 8 && kills < KILLS; cycle++) {
      const url = await server().createDatabase();
      await createItems(url, ROWS);
      const common = ['--database-url', url, '--lock-timeout', '1s'];
      for (const [phase, args] of [
        ['migrate', 'start', file, '--batch-size', '500', ...common],
        ['migrate', 'complete', '--force', ...common],
      ].entries()) {
        for (let k = 0; k < 4; k++) {
          const at = Math.floor(random() * spans[phase]! * 0.9);
          const run = await runCli(args, { trigger: FIRST_STEP, killAfterMs: at });
          log.push(`cycle ${cycle} ${args[1]} +${at}ms: ${run.signal ?? `exit ${run.code}`}`);
          if (run.signal !== 'SIGKILL') {
            expect(run.code, `${run.stderr}\n${log.join('\n')}`).toBe(0);
            break;
          }
          kills++;
          await checkAfterKill(url, log);
        }
        const finish = await runCli(args);
        expect(finish.code, `${finish.stderr}\n${log.join('\n')}`).toBe(0);
      }
      await expectItemsCompleted(url).catch((error: Error) => {
        throw new Error(`${error.message}\n${log.join('\n')}`, { cause: error });
      });
    }
    expect(kills, log.join('\n')).toBeGreaterThanOrEqual(KILLS);
  }, 600_000);
});
