import { createHash } from 'node:crypto';
import type { TableName } from './types.js';

/** Names of the objects pgpact creates for a migration: short hashes keep them unique and under 63 bytes. */

function shortHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 10);
}

/** Cuts a name to Postgres's 63-byte identifier limit without splitting a character. */
export function truncateIdentifier(name: string, maxBytes = 63): string {
  let out = '';
  for (const ch of name) {
    if (Buffer.byteLength(out + ch) > maxBytes) break;
    out += ch;
  }
  return out;
}

/** `schema.table` for messages and keys. */
export function tableKey(table: TableName): string {
  return `${table.schema}.${table.name}`;
}

/** The sync function (in schema pgpact) of one table for one migration. */
export function syncFunctionName(migration: string, table: TableName): string {
  return `sync_${shortHash(migration)}_${shortHash(tableKey(table))}`;
}

/** The sync trigger; `zz_` makes it fire after the table's own BEFORE triggers (they fire by name). */
export function syncTriggerName(migration: string): string {
  return `zz_pgpact_sync_${shortHash(migration)}`;
}

/** The CHECK (column IS NOT NULL) constraint standing in for NOT NULL until complete. */
export function notNullCheckName(migration: string, table: TableName, column: string): string {
  return truncateIdentifier(
    `pgpact_nn_${shortHash(`${migration}\u0000${tableKey(table)}\u0000${column}`)}_${column}`,
  );
}

/** The column holding a changed type until complete renames it to the old name. */
export function temporaryColumnName(column: string): string {
  return truncateIdentifier(`_pgpact_new_${column}`);
}
