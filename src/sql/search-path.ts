/** Postgres's default search_path. */
export const DEFAULT_SEARCH_PATH: readonly string[] = ['$user', 'public'];

/**
 * Parses a search_path value as Postgres stores it (`"$user", public`, `"My Schema",app`):
 * comma-separated names, double-quoted ones kept as written, bare ones folded to lower case.
 */
export function parseSearchPath(value: string): string[] {
  const names: string[] = [];
  let i = 0;
  const n = value.length;
  while (i < n) {
    while (i < n && /[\s,]/.test(value[i]!)) i++;
    if (i >= n) break;
    if (value[i] === '"') {
      let name = '';
      i++;
      while (i < n) {
        if (value[i] === '"') {
          if (value[i + 1] === '"') {
            name += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        name += value[i];
        i++;
      }
      names.push(name);
    } else {
      let end = i;
      while (end < n && value[end] !== ',') end++;
      const bare = value.slice(i, end).trim();
      // Postgres folds unquoted identifiers to lower case (ASCII letters only).
      if (bare !== '') names.push(bare.replace(/[A-Z]+/g, (m) => m.toLowerCase()));
      i = end;
    }
  }
  return names;
}

/** The schemas names are looked up in, in order: `$user` becomes the role (dropped without one), pg_temp is left out. */
export function effectiveSearchPath(path: readonly string[], role: string | undefined): string[] {
  const schemas: string[] = [];
  for (const name of path) {
    if (name === '$user') {
      if (role !== undefined) schemas.push(role);
    } else if (name !== 'pg_temp' && !name.startsWith('pg_temp_')) {
      schemas.push(name);
    }
  }
  return schemas;
}
