import type { OperationDefinition } from './definition.js';

/** Raw SQL run once at start (its `down` by a rollback), or once at complete (`on_complete`). */
export interface Sql {
  op: 'sql';
  up: string;
  down?: string;
  onComplete: boolean;
}

export const sql: OperationDefinition<Sql> = {
  kind: 'sql',
  spellings: [
    {
      key: 'sql',
      format: 'pgpact',
      read(f, ctx) {
        const up = f.string('up', true);
        const down = f.string('down');
        const onComplete =
          (f.has('onComplete') ? f.boolean('onComplete') : f.boolean('on_complete')) ?? false;
        f.ignore('onComplete', 'on_complete');
        f.reportUnknown();
        if (up !== undefined) ctx.sql.push({ fields: f, key: 'up', sql: up, kind: 'script' });
        if (down !== undefined) ctx.sql.push({ fields: f, key: 'down', sql: down, kind: 'script' });
        if (up === undefined) return undefined;
        if (onComplete && down !== undefined)
          f.report(
            'down',
            'an on_complete sql operation has no down: it runs after the point of no return',
          );
        return { op: 'sql', up, ...(down === undefined ? {} : { down }), onComplete };
      },
    },
  ],
  footprint: () => ({}),
  plan(ctx, o, i) {
    const id = `sql:${i}`;
    const description = `raw sql (operation ${i + 1})`;
    if (o.onComplete) {
      ctx.plan.complete.push({ kind: 'once', id, description, sql: o.up });
      return;
    }
    ctx.plan.expand.push({ kind: 'once', id, description, sql: o.up });
    if (o.down !== undefined)
      ctx.undo.sql.push({
        kind: 'once',
        id: `${id}:down`,
        description: `raw sql down (operation ${i + 1})`,
        sql: o.down,
        onlyIfDone: id,
      });
  },
};
