import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import type { Output } from '../../src/cli/command.js';
import { runCommand } from '../../src/cli/main.js';
import { tempDir } from '../helpers/temp-dir.js';

// The umami report: umami owns website_event, analytics reads its browser column.
const MANIFEST = `version: 1
services:
  umami:
    owns: [public.website_event]
    migrations: migrations/umami
  analytics:
    reads:
      public.website_event: [event_id, browser, visits, tags]
`;

const BASE = `CREATE TABLE public.website_event (
  event_id bigint PRIMARY KEY,
  browser  varchar(20),
  visits   integer,
  tags     varchar(20)[]
);
`;

const MIGRATIONS: Record<string, string> = {
  'widen.sql': 'ALTER TABLE website_event ALTER COLUMN browser TYPE VARCHAR(40);\n',
  'to-text.sql': 'ALTER TABLE website_event ALTER COLUMN browser TYPE text;\n',
  'widen-array.sql': 'ALTER TABLE website_event ALTER COLUMN tags TYPE varchar(40)[];\n',
  'narrow.sql': 'ALTER TABLE website_event ALTER COLUMN browser TYPE VARCHAR(10);\n',
  'bigint.sql': 'ALTER TABLE website_event ALTER COLUMN visits TYPE bigint;\n',
};

function project(): string {
  const dir = tempDir('pgpact-check-widening-');
  fs.mkdirSync(path.join(dir, 'migrations', 'umami'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'pgpact.yaml'), MANIFEST);
  fs.writeFileSync(path.join(dir, 'migrations', 'umami', '001_base.sql'), BASE);
  for (const [name, sql] of Object.entries(MIGRATIONS)) fs.writeFileSync(path.join(dir, name), sql);
  return dir;
}

interface JsonFinding {
  severity: string;
  kind: string;
  object: string;
  consumers: { service: string }[];
  message: string;
  suggestion: string;
}

/** `pgpact check --format json FILE` in `dir`: the exit code and the column-type-changed finding. */
async function check(dir: string, file: string) {
  let out = '';
  const output: Output = {
    out: (t) => {
      out += t;
    },
    err: () => {},
    isTTY: false,
  };
  const cwd = process.cwd();
  process.chdir(dir);
  try {
    const args = ['check', '--config', 'pgpact.yaml', '--service', 'umami', '--format', 'json'];
    const code = await runCommand([...args, file], output);
    const doc = JSON.parse(out) as { findings: JsonFinding[] };
    return { code, typeChange: doc.findings.find((f) => f.kind === 'column-type-changed') };
  } finally {
    process.chdir(cwd);
  }
}

const dir = project();

it('check: widening varchar(20) to varchar(40) under a reader is a warning naming it, exit 0', async () => {
  const r = await check(dir, 'widen.sql');
  expect(r.code).toBe(0);
  expect(r.typeChange).toMatchObject({
    severity: 'warning',
    object: 'public.website_event.browser',
    consumers: [{ service: 'analytics' }],
  });
  expect(r.typeChange?.message).toContain(
    'widens its type from character varying(20) to character varying(40)',
  );
  expect(r.typeChange?.suggestion).not.toContain('expand/contract');
}, 120_000);

it('check: varchar(20) to text and varchar(20)[] to varchar(40)[] are warnings, exit 0', async () => {
  for (const file of ['to-text.sql', 'widen-array.sql']) {
    const r = await check(dir, file);
    expect(r.code, file).toBe(0);
    expect(r.typeChange?.severity, file).toBe('warning');
  }
}, 120_000);

it('check: narrowing varchar(20) to varchar(10) still breaks its reader, exit 1', async () => {
  const r = await check(dir, 'narrow.sql');
  expect(r.code).toBe(1);
  expect(r.typeChange).toMatchObject({
    severity: 'breaking',
    consumers: [{ service: 'analytics' }],
  });
  expect(r.typeChange?.message).toContain(
    'changes type from character varying(20) to character varying(10)',
  );
}, 120_000);

it('check: integer to bigint still breaks its reader (drivers return bigint differently), exit 1', async () => {
  const r = await check(dir, 'bigint.sql');
  expect(r.code).toBe(1);
  expect(r.typeChange).toMatchObject({
    severity: 'breaking',
    object: 'public.website_event.visits',
  });
  expect(r.typeChange?.suggestion).toContain('expand/contract');
}, 120_000);
