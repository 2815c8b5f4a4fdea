/**
 * Contracts against the live database: every declared table and column must
 * exist, else the contract is reported where it is written, with the closest
 * existing name.
 *
 * What counts as missing: a schema that does not exist yet is not a problem
 * (apply creates owned schemas; the owner's migrations create the tables),
 * and neither is a table in a schema that holds no tables or views yet (the
 * owner has not migrated). Once the schema holds any table or view, a
 * declared table missing from it is a problem, and so is any declared column
 * missing from an existing table or view.
 */
import type { Problem } from '../errors.js';
import type { CatalogSnapshot, RelationInfo } from '../catalog-types.js';
import { closestName } from './closest.js';
import { printable } from './names.js';
import { formatTableRef } from './table-ref.js';
import { allContracts, type Contract, type Manifest, type SourceLocation } from './types.js';

function problemAt(
  code: 'CONTRACT_TABLE_MISSING' | 'CONTRACT_COLUMN_MISSING',
  message: string,
  at: SourceLocation,
  hint: string,
): Problem {
  return { code, message, file: at.file, line: at.line, column: at.column, hint };
}

function ref(schema: string, table: string): string {
  return printable(formatTableRef(schema, table));
}

/** The closest existing relation to a missing one: same schema first, then the same name elsewhere, then any. */
function closestRelation(contract: Contract, relations: RelationInfo[]): RelationInfo | undefined {
  const sameSchema = relations.filter((r) => r.schema === contract.schema);
  const inSchema = closestName(
    contract.table,
    sameSchema.map((r) => r.name),
  );
  if (inSchema !== undefined) return sameSchema.find((r) => r.name === inSchema);
  const sameName = relations.find((r) => r.name === contract.table);
  if (sameName) return sameName;
  const qualified = relations.map((r) => formatTableRef(r.schema, r.name));
  const anywhere = closestName(formatTableRef(contract.schema, contract.table), qualified);
  return anywhere === undefined ? undefined : relations[qualified.indexOf(anywhere)];
}

/** Reports contract tables and columns missing from the database, each at its manifest location. */
export function checkManifestAgainstCatalog(
  manifest: Manifest,
  catalog: CatalogSnapshot,
): Problem[] {
  const relations = catalog.relations.filter((r) => r.kind !== 'sequence');
  const schemas = new Set(catalog.schemas.map((s) => s.name));
  const problems: Problem[] = [];
  for (const contract of allContracts(manifest)) {
    if (!schemas.has(contract.schema)) continue;
    const relation = relations.find(
      (r) => r.schema === contract.schema && r.name === contract.table,
    );
    const verb = contract.access === 'read' ? 'reads' : 'writes';
    if (!relation) {
      if (!relations.some((r) => r.schema === contract.schema)) continue;
      const closest = closestRelation(contract, relations);
      problems.push(
        problemAt(
          'CONTRACT_TABLE_MISSING',
          `service \`${printable(contract.service)}\` ${verb} \`${ref(contract.schema, contract.table)}\`, which does not exist in the database`,
          contract.location,
          closest
            ? `did you mean \`${ref(closest.schema, closest.name)}\`?`
            : `create the table in a migration of the schema's owner, or remove the contract`,
        ),
      );
      continue;
    }
    if (contract.columns === '*') continue;
    const existing = relation.columns.map((c) => c.name);
    contract.columns.forEach((column, i) => {
      if (existing.includes(column)) return;
      const closest = closestName(column, existing);
      problems.push(
        problemAt(
          'CONTRACT_COLUMN_MISSING',
          `service \`${printable(contract.service)}\` ${verb} column \`${printable(column)}\` of \`${ref(contract.schema, contract.table)}\`, which has no such column`,
          contract.columnLocations[i] ?? contract.location,
          closest
            ? `did you mean \`${printable(closest)}\`?`
            : existing.length === 0
              ? 'the relation has no columns'
              : `existing columns: ${existing.slice(0, 20).map(printable).join(', ')}${existing.length > 20 ? ', ...' : ''}`,
        ),
      );
    });
  }
  return problems;
}
