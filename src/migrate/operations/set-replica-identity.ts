import { quoteIdent } from '../../postgres/quote.js';
import { tableKey } from '../names.js';
import { qualified } from '../plan-sql.js';
import { problem } from '../plan-state.js';
import type { TableName } from '../types.js';
import type { OperationDefinition } from './definition.js';

/** The table's replica identity, set at start (not restored by a rollback). */
export interface SetReplicaIdentity {
  op: 'set_replica_identity';
  table: TableName;
  identity: 'default' | 'full' | 'nothing' | 'index';
  index?: string;
}

export const setReplicaIdentity: OperationDefinition<SetReplicaIdentity> = {
  kind: 'set_replica_identity',
  spellings: [
    {
      key: 'set_replica_identity',
      format: 'pgroll',
      read(f, ctx) {
        const table = f.table('table', ctx.defaultSchema);
        const identity = f.object('identity', 'the replica identity', true);
        const type = identity?.string('type', true)?.toLowerCase();
        const index = identity?.name('index');
        identity?.reportUnknown();
        f.reportUnknown();
        if (!table || type === undefined) return undefined;
        if (type !== 'default' && type !== 'full' && type !== 'nothing' && type !== 'index') {
          f.report(
            'identity',
            `unknown replica identity \`${type}\``,
            'one of default, full, nothing, index',
          );
          return undefined;
        }
        if (type === 'index' && index === undefined) {
          f.report('identity', 'a replica identity of type index names the `index`');
          return undefined;
        }
        return {
          op: 'set_replica_identity',
          table,
          identity: type,
          ...(type === 'index' && index !== undefined ? { index } : {}),
        };
      },
    },
  ],
  footprint: (o) => ({ table: o.table }),
  planOnTable(ctx, w, o, i) {
    if (o.identity === 'index' && !w.relation.indexes.some((x) => x.name === o.index)) {
      problem(ctx, i, `index ${o.index} does not exist on ${tableKey(w.table)}`);
      return;
    }
    const what =
      o.identity === 'index' ? `USING INDEX ${quoteIdent(o.index!)}` : o.identity.toUpperCase();
    w.afterAdd.push({ sql: `ALTER TABLE ${qualified(w.table)} REPLICA IDENTITY ${what}` });
  },
};
