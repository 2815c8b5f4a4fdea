import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { expect } from 'vitest';

/**
 * Writer clients of the users.account fixture (test/migrate/helpers.ts createAccounts)
 * writing through the old column (street_and_number) and the new ones (street, number)
 * while a split migration runs, remembering what every row must hold afterwards.
 */

export const WRITERS = 4;
export const HOT = [1, 2, 3, 4, 5, 6, 7, 8];

/** What a row must hold at the end: its last successful write, and how many increments it got. */
interface Expected {
  street: string;
  number: string;
  hits: number;
}

/** The seed's address of row g, split the way the migration's `up` splits it. */
export function seeded(g: number): Expected {
  const street = ['Main Street', 'Elm Road', 'Am Markt', 'Rue de la Paix'][g % 4]!;
  return { street, number: String(g), hits: 0 };
}

/**
 * Writers through the old column (street_and_number) and the new ones (street, number),
 * each owning the rows id % WRITERS = w so the last write of every row is known, plus
 * hot rows every writer increments. Old-column writes stop once complete dropped it.
 */
export class Writers {
  readonly expected = new Map<number, Expected>();
  hotHits = 0;
  oldGone = false;
  newReady = false;
  errors: string[] = [];
  writes = { old: 0, new: 0, partial: 0, insert: 0, hot: 0 };
  private running = false;
  private loops: Promise<void>[] = [];

  constructor(
    private readonly clients: pg.Client[],
    private readonly rows: number,
  ) {}

  private expectedOf(id: number): Expected {
    let e = this.expected.get(id);
    if (!e) {
      e = seeded(id);
      this.expected.set(id, e);
    }
    return e;
  }

  start(): void {
    this.running = true;
    this.loops = this.clients.map((c, w) => this.loop(c, w));
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  private async loop(c: pg.Client, w: number): Promise<void> {
    let k = 0;
    while (this.running) {
      k++;
      const choice = (k * 7 + w) % 10;
      const viaNew = this.oldGone || (this.newReady && k % 2 === 0);
      try {
        if (choice === 0) {
          const id = HOT[k % HOT.length]!;
          const sql = viaNew
            ? 'UPDATE users.account SET hits = hits + 1, number = number WHERE id = $1'
            : 'UPDATE users.account SET hits = hits + 1, street_and_number = street_and_number WHERE id = $1';
          await c.query(sql, [id]);
          this.hotHits++;
          this.writes.hot++;
        } else if (choice === 1) {
          const street = `Neue Straße w${w}`;
          const number = `${k}b`;
          const { rows } = viaNew
            ? await c.query(
                'INSERT INTO users.account (name, street, number, zip) VALUES ($1, $2, $3, $4) RETURNING id',
                [`w${w}`, street, number, '12345'],
              )
            : await c.query(
                'INSERT INTO users.account (name, street_and_number, zip) VALUES ($1, $2, $3) RETURNING id',
                [`w${w}`, `${street} ${number}`, '12345'],
              );
          this.expected.set(Number(rows[0].id), { street, number, hits: 0 });
          this.writes.insert++;
        } else {
          // One of this writer's own rows (never a hot one).
          const id =
            100 + w + WRITERS * Math.floor(Math.random() * ((this.rows - 100) / WRITERS - 1));
          const e = this.expectedOf(id);
          const street = `Weg ${w} ${k}`;
          const number = String(k);
          if (viaNew && choice === 2) {
            // A partial write of the new shape: only the number.
            await c.query('UPDATE users.account SET number = $1, hits = hits + 1 WHERE id = $2', [
              number,
              id,
            ]);
            e.number = number;
            this.writes.partial++;
          } else if (viaNew) {
            await c.query(
              'UPDATE users.account SET street = $1, number = $2, hits = hits + 1 WHERE id = $3',
              [street, number, id],
            );
            e.street = street;
            e.number = number;
            this.writes.new++;
          } else {
            await c.query(
              'UPDATE users.account SET street_and_number = $1, hits = hits + 1 WHERE id = $2',
              [`${street} ${number}`, id],
            );
            e.street = street;
            e.number = number;
            this.writes.old++;
          }
          e.hits++;
        }
      } catch (error) {
        const code = (error as { code?: string }).code;
        // The old column disappears when complete commits: old code fails from then on, as expected.
        if (code === '42703' && !viaNew) this.oldGone = true;
        else this.errors.push(`${code}: ${(error as Error).message}`);
      }
      await sleep(1);
    }
  }
}

export async function verify(c: pg.Client, writers: Writers, oldShape: boolean): Promise<void> {
  if (oldShape) {
    const broken = await c.query(
      `SELECT id, street_and_number, street, number FROM users.account WHERE street_and_number IS DISTINCT FROM street || ' ' || number LIMIT 5`,
    );
    expect(broken.rows).toEqual([]);
  }
  const { rows } = await c.query<{ id: string; street: string; number: string; hits: number }>(
    'SELECT id, street, number, hits FROM users.account',
  );
  const byId = new Map(rows.map((r) => [Number(r.id), r]));
  const lost: string[] = [];
  for (const [id, e] of writers.expected) {
    const r = byId.get(id);
    if (!r || r.street !== e.street || r.number !== e.number || r.hits !== e.hits) {
      lost.push(`${id}: expected ${JSON.stringify(e)}, found ${JSON.stringify(r)}`);
    }
  }
  expect(lost.slice(0, 5)).toEqual([]);
  const hot = await c.query<{ n: number }>(
    'SELECT sum(hits)::int AS n FROM users.account WHERE id = ANY($1::bigint[])',
    [HOT],
  );
  expect(hot.rows[0]!.n).toBe(writers.hotHits);
}
