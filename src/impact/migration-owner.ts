import path from 'node:path';
import { PgpactError } from '../errors.js';
import { ownerOfSchema, ownerOfTable } from '../manifest/ownership.js';
import type { Manifest, Service } from '../manifest/types.js';
import type { MigrationFile } from './migration-file.js';
import { statementFacts } from '../sql/ddl-facts.js';

/** The service a file is applied as. */
export interface FileOwner {
  service: string;
  role: string;
}

function insideFolder(file: string, folder: string): boolean {
  const rel = path.relative(folder, file);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}

/** The service whose schemas the statements of some files touch most (explicit schema names only). */
function ownerBySchemas(manifest: Manifest, files: MigrationFile[]): Service | undefined {
  const votes = new Map<string, number>();
  const order: string[] = [];
  for (const f of files) {
    for (const s of f.statements) {
      for (const act of statementFacts(s.node).acts) {
        const schema = act.rel?.schema ?? act.schema;
        // A table in a shared schema has its own owner (owns: patterns).
        const owner =
          act.rel?.schema !== undefined && act.rel.name !== undefined
            ? ownerOfTable(manifest, act.rel.schema, act.rel.name)
            : schema === undefined
              ? undefined
              : ownerOfSchema(manifest, schema);
        if (!owner) continue;
        if (!votes.has(owner.name)) order.push(owner.name);
        votes.set(owner.name, (votes.get(owner.name) ?? 0) + 1);
      }
    }
  }
  const best = order.sort((a, b) => (votes.get(b) ?? 0) - (votes.get(a) ?? 0))[0];
  return manifest.services.find((s) => s.name === best);
}

/**
 * Which service each new migration file belongs to: `--service` for all; else the
 * service whose `migrations` folder holds the file; else the owner of the schemas the
 * statements name. Invalid input when none can be told.
 */
export function migrationOwners(
  manifest: Manifest,
  files: MigrationFile[],
  service?: string,
): Map<string, FileOwner> {
  const owners = new Map<string, FileOwner>();
  if (service !== undefined) {
    const s = manifest.services.find((x) => x.name === service);
    if (!s) {
      throw new PgpactError('USAGE', `--service ${service} is not a service of ${manifest.file}`, {
        hint: `services: ${manifest.services.map((x) => x.name).join(', ') || '(none)'}`,
      });
    }
    for (const f of files) owners.set(f.display, { service: s.name, role: s.role });
    return owners;
  }
  const loose: MigrationFile[] = [];
  for (const f of files) {
    const s = manifest.services.find(
      (x) => x.migrations !== undefined && insideFolder(f.path, x.migrations),
    );
    if (s) owners.set(f.display, { service: s.name, role: s.role });
    else loose.push(f);
  }
  if (loose.length > 0) {
    // Each file by the schemas it names; files naming none follow the others.
    const together =
      ownerBySchemas(manifest, loose) ??
      (manifest.services.length === 1 ? manifest.services[0] : undefined);
    for (const f of loose) {
      const s = ownerBySchemas(manifest, [f]) ?? together;
      if (!s) {
        throw new PgpactError('USAGE', `cannot tell which service ${f.display} belongs to`, {
          hint: "pass --service NAME, keep the file in the service's migrations folder, or qualify table names with the owned schema",
        });
      }
      owners.set(f.display, { service: s.name, role: s.role });
    }
  }
  return owners;
}
