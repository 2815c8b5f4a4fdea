import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { expect, it } from 'vitest';
import { describeEachServer } from '../helpers/postgres.js';
import { tempDir } from '../helpers/temp-dir.js';
import { measure, prng } from './crash-helpers.js';
import { runCli } from './helpers.js';
import { createBatchTables, MOVE_FILE, shapeOf } from './move-table-fixture.js';

/** SIGKILL of pgpact at random points of move_table's start, complete and rollback, then resume. */

const ROWS = 5_000;
const KILLS = 12;
const MIN_PER_COMMAND = 3;
/** Kill times count from the command's first line, or from its first step's line (late points: the DDL itself). */
const LINES = {
  start: [/^plan move-batches/m, /^move public\.Batch Changes/m],
  complete: [/^check who still uses/m, /^drop the compatibility view public\.Batch Changes/m],
  rollback: [/^roll back /m, /^move Batches\.tenant_notes back/m],
};
type Command = keyof typeof LINES;

const TABLES = ['Batch Changes', 'tenant_notes'];

/** Where each table is now: at the old name (table), moved with a view at the old name, or moved alone. */
async function places(c: pg.Client): Promise<string[]> {
  const out: string[] = [];
  for (const name of TABLES) {
    const { rows } = await c.query<{ old: string | null; moved: string | null }>(
      `SELECT (SELECT relkind::text FROM pg_class WHERE oid = to_regclass(format('public.%I', $1::text))) AS old,
              (SELECT relkind::text FROM pg_class WHERE oid = to_regclass(format('"Batches".%I', $1::text))) AS moved`,
      [name],
    );
    const { old, moved } = rows[0]!;
    const place =
      old === 'r' && moved === null
        ? 'old'
        : old === 'v' && moved === 'r'
          ? 'moved+view'
          : old === null && moved === 'r'
            ? 'moved'
            : `broken (old ${old}, moved ${moved})`;
    out.push(place);
    const table =
      place === 'old' ? `public.${JSON.stringify(name)}` : `"Batches".${JSON.stringify(name)}`;
    if (!place.startsWith('broken') && name === 'Batch Changes') {
      const n = await c.query(`SELECT count(*)::int AS n FROM ${table}`);
      expect(n.rows[0].n, `rows of ${table}`).toBe(ROWS);
    }
  }
  return out;
}

async function phase(c: pg.Client): Promise<string | null> {
  const exists = await c.query(`SELECT to_regclass('pgpact.migrations') IS NOT NULL AS ok`);
  if (!exists.rows[0].ok) return null;
  return (await c.query('SELECT phase FROM pgpact.migrations')).rows[0]?.phase ?? null;
}

describeEachServer('SIGKILL at random points of move_table', (server) => {
  it(`resumes after ≥ ${KILLS} kills in start, complete and rollback`, async () => {
    const seed = Number(process.env.PGPACT_CRASH_SEED ?? Date.now() % 1_000_000);
    const random = prng(seed);
    const file = path.join(tempDir('pgpact-move-crash-'), 'move-batches.yaml');
    fs.writeFileSync(file, MOVE_FILE);
    const args: Record<Command, (url: string) => string[]> = {
      start: (url) => ['migrate', 'start', file, '--database-url', url, '--lock-timeout', '1s'],
      complete: (url) => ['migrate', 'complete', '--force', '--database-url', url],
      rollback: (url) => ['migrate', 'rollback', '--database-url', url],
    };
    const setUp = async (url: string) => {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      await createBatchTables(c, ROWS);
      return c;
    };

    // Calibration: how long each command works after its first line, uninterrupted.
    const span = {} as Record<Command, number[]>;
    for (const command of ['complete', 'rollback'] as const) {
      for (const line of [0, 1]) {
        const url = await server().createDatabase();
        const c = await setUp(url);
        await c.end();
        if (command === 'complete') {
          span.start ??= [];
          span.start[line] = await measure(args.start(url), LINES.start[line]!);
        } else expect((await runCli(args.start(url))).code).toBe(0);
        span[command] ??= [];
        span[command][line] = await measure(args[command](url), LINES[command][line]!);
      }
    }
    const log = [`seed ${seed}; spans ${JSON.stringify(span)} ms`];
    const kills: Record<Command, number> = { start: 0, complete: 0, rollback: 0 };
    const total = () => kills.start + kills.complete + kills.rollback;

    /** Runs `command` until it finishes, killing it at random points up to `tries` times; checks the state after each kill. */
    const killUntilDone = async (
      url: string,
      c: pg.Client,
      command: Command,
      tries: number,
      allowed: string[],
    ) => {
      for (let k = 0; k < tries; k++) {
        const line = random() < 0.5 ? 0 : 1;
        const at = Math.floor(random() * span[command][line]!);
        const run = await runCli(args[command](url), {
          trigger: LINES[command][line],
          killAfterMs: at,
        });
        const where = await places(c);
        const now = await phase(c);
        log.push(
          `${command} ${line === 0 ? 'first line' : 'first step'} +${at}ms: ${run.signal ?? `exit ${run.code}`} -> ${now ?? 'none'} ${where.join(', ')}`,
        );
        for (const p of where) expect(allowed, log.join('\n')).toContain(p);
        if (run.signal === 'SIGKILL') kills[command]++;
        else {
          expect(run.code, run.stderr).toBe(0);
          return;
        }
      }
      const last = await runCli(args[command](url));
      expect(last.code, last.stderr).toBe(0);
    };

    try {
      for (
        let cycle = 0;
        cycle < 10 && (total() < KILLS || Object.values(kills).some((n) => n < MIN_PER_COMMAND));
        cycle++
      ) {
        const url = await server().createDatabase();
        const c = await setUp(url);
        try {
          const before = await shapeOf(c, 'public');
          // Until complete, the old name always answers: the table itself or its view.
          await killUntilDone(url, c, 'start', 3, ['old', 'moved+view']);
          expect(await places(c)).toEqual(['moved+view', 'moved+view']);
          if (cycle % 2 === 0) {
            await killUntilDone(url, c, 'complete', 3, ['moved+view', 'moved']);
            expect(await places(c)).toEqual(['moved', 'moved']);
            const moved = await shapeOf(c, 'Batches');
            expect(moved.relations.map((r) => r.name)).toEqual(
              expect.arrayContaining(['Batch Changes', 'Batch Changes_pkey', 'tenant_notes']),
            );
            expect(moved.triggers.length).toBe(1);
            expect(moved.policies.length).toBe(1);
          } else {
            await killUntilDone(url, c, 'rollback', 3, ['old', 'moved+view']);
            expect(await places(c)).toEqual(['old', 'old']);
            expect(await shapeOf(c, 'public')).toEqual(before);
            const schema = await c.query(`SELECT 1 FROM pg_namespace WHERE nspname = 'Batches'`);
            expect(schema.rows).toEqual([]);
          }
          expect(await phase(c)).toBeNull();
          const history = await c.query(
            'SELECT outcome FROM pgpact.migration_history ORDER BY finished_at DESC',
          );
          expect(history.rows).toEqual([
            { outcome: cycle % 2 === 0 ? 'completed' : 'rolled_back' },
          ]);
        } finally {
          await c.end();
        }
      }
    } catch (error) {
      throw new Error(
        `move_table crash test failed (PGPACT_CRASH_SEED=${seed}):\n${log.join('\n')}\n${(error as Error).message}`,
        { cause: error },
      );
    }
    if (process.env.PGPACT_CRASH_LOG) console.log(log.join('\n'));
    expect(total()).toBeGreaterThanOrEqual(KILLS);
    for (const n of Object.values(kills)) expect(n).toBeGreaterThanOrEqual(MIN_PER_COMMAND);
  }, 900_000);
});
