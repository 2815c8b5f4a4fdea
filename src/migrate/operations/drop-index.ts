import { problem } from '../plan-state.js';
import type { TableName } from '../types.js';
import type { OperationDefinition } from './definition.js';

/** An index dropped concurrently at complete (old code may rely on it until then); pgroll names only the index. */
export interface DropIndex {
  op: 'drop_index';
  schema: string;
  name: string;
}

export const dropIndex: OperationDefinition<DropIndex> = {
  kind: 'drop_index',
  spellings: [
    {
      key: 'drop_index',
      format: 'pgroll',
      read(f, ctx) {
        const text = f.string('name', true);
        f.reportUnknown();
        if (text === undefined) return undefined;
        // pgroll names the index alone; a schema-qualified name is read as schema.index.
        const index: TableName | undefined = f.table('name', ctx.defaultSchema);
        return index ? { op: 'drop_index', schema: index.schema, name: index.name } : undefined;
      },
    },
  ],
  footprint: () => ({}),
  plan(ctx, o, i) {
    const exists = ctx.catalog.relations.some(
      (r) => r.schema === o.schema && r.indexes.some((x) => x.name === o.name),
    );
    if (!exists) problem(ctx, i, `index ${o.schema}.${o.name} does not exist`);
    ctx.plan.complete.push({
      kind: 'drop-index',
      id: `drop-index:${o.schema}.${o.name}`,
      description: `drop index ${o.name}`,
      schema: o.schema,
      name: o.name,
    });
  },
};
