import { quoteIdent } from '../postgres/quote.js';
import type { LockWaitRow } from './sampler-queries.js';
import type { LockObject } from './types.js';

/** A relation name for people: parts quoted only where Postgres would need it. */
export function displayRelation(schema: string | null | undefined, name: string): string {
  const part = (p: string) => (/^[a-z_][a-z0-9_$]*$/.test(p) ? p : quoteIdent(p));
  return schema ? `${part(schema)}.${part(name)}` : part(name);
}

/** Describes what a waiting lock is about: a relation, a row, a transaction, an advisory key. */
export function lockObjectOf(row: LockWaitRow): LockObject {
  const relationOf = (schema: string | null, relation: string | null, oid: number | null) =>
    relation !== null
      ? displayRelation(schema, relation)
      : oid !== null
        ? `relation oid ${oid}`
        : undefined;
  const names = (schema: string | null, relation: string | null) =>
    relation !== null ? { schema: schema ?? undefined, relation } : {};
  switch (row.locktype) {
    case 'relation': {
      const rel = relationOf(row.schema, row.relation, row.relation_oid) ?? 'a relation';
      return {
        kind: 'relation',
        ...names(row.schema, row.relation),
        description: `relation ${rel}`,
      };
    }
    case 'tuple': {
      const rel = relationOf(row.schema, row.relation, row.relation_oid) ?? 'a relation';
      const tuple = `(${row.page},${row.tuple})`;
      return {
        kind: 'row',
        ...names(row.schema, row.relation),
        tuple,
        description: `row ${tuple} of ${rel}`,
      };
    }
    case 'transactionid': {
      const xid = row.transaction_id ?? '?';
      const rel = relationOf(row.tuple_schema, row.tuple_relation, row.tuple_relation_oid);
      if (rel !== undefined && row.page !== null && row.tuple !== null) {
        const tuple = `(${row.page},${row.tuple})`;
        return {
          kind: 'row',
          ...names(row.tuple_schema, row.tuple_relation),
          tuple,
          transactionId: xid,
          description: `row ${tuple} of ${rel} (transaction ${xid})`,
        };
      }
      return { kind: 'transaction', transactionId: xid, description: `transaction ${xid}` };
    }
    case 'virtualxid':
      return {
        kind: 'virtual-transaction',
        description: `virtual transaction ${row.virtualxid ?? '?'}`,
      };
    case 'advisory': {
      // Two int4 keys (objsubid 2) or one int8 key split into classid (high) and objid (low).
      const key =
        row.objsubid === 2
          ? `${row.classid ?? 0}, ${row.objid ?? 0}`
          : String(BigInt.asIntN(64, (BigInt(row.classid ?? 0) << 32n) | BigInt(row.objid ?? 0)));
      return { kind: 'advisory', description: `advisory lock ${key}` };
    }
    default: {
      const rel = relationOf(row.schema, row.relation, row.relation_oid);
      return {
        kind: 'other',
        ...names(row.schema, row.relation),
        description: rel ? `${row.locktype} lock on ${rel}` : `${row.locktype} lock`,
      };
    }
  }
}
