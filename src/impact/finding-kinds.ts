import { LINT_RULES } from './lint/index.js';

/** One-line descriptions of every finding kind `pgpact check` reports (SARIF rules, docs). */
export const CHECK_FINDING_KINDS: Record<string, string> = {
  'schema-dropped': 'A schema is dropped while other services use its tables.',
  'schema-renamed': 'A schema is renamed while other services use its tables.',
  'table-dropped': 'A table is dropped while other services read or write it.',
  'table-renamed':
    'A table is renamed (or moved to another schema) while other services use its old name.',
  'table-recreated':
    'A table is dropped and created again: its data, grants and dependent views are lost.',
  'column-dropped': 'A column is dropped while other services read or write it.',
  'column-renamed': 'A column is renamed while other services use its old name.',
  'column-recreated': 'A column is dropped and added again under the same name: its data is lost.',
  'column-type-changed':
    'A column changes type while other services read or write it (a warning when it only widens).',
  'not-null-added': 'A column becomes NOT NULL while other services write the table.',
  'default-removed': 'A column loses its default while other services insert into the table.',
  'constraint-added': "A constraint that can reject other services' writes is added.",
  'required-column-added':
    'A NOT NULL column without a default is added: breaking while other services insert into the table, a warning otherwise (the statement fails on a table that has rows).',
  'view-changed': 'A view changes its columns or definition while other services read it.',
  'view-dropped': 'A view is dropped while other services read it.',
  'view-renamed': 'A view is renamed while other services read it.',
  'column-added': 'A column is added (informative).',
  'table-added': 'A table is added (informative).',
  'view-added': 'A view is added (informative).',
  'ownership-violation': 'A migration changes a schema that another service owns.',
  'unowned-schema': 'A migration changes a schema that no service owns in the manifest.',
  'table-rewrite': 'A statement rewrites a whole existing table under an ACCESS EXCLUSIVE lock.',
  'validating-scan':
    'A statement scans a whole existing table while holding a lock that blocks writes.',
  'index-without-concurrently': 'An index is built on an existing table while writes are blocked.',
  'missing-lock-timeout':
    'A migration file takes locks on existing tables without setting lock_timeout.',
  'missing-statement-timeout':
    'A migration file holds a lock through a scan, rewrite or index build without statement_timeout.',
  'migration-fails': 'A statement of the migration fails against the current schema.',
  'empty-base': 'The shadow database had no current schema to start from.',
  'statement-not-checked':
    'A statement was not run against the live database, so its effect is not checked.',
  ...Object.fromEntries(LINT_RULES.map((rule) => [rule.kind, rule.description])),
};
