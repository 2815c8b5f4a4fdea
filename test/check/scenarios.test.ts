import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { describeEachServer } from '../helpers/postgres.js';
import { expectedOutcome, runScenario, SCENARIOS_DIR, scenarioNames } from './scenario.js';

const names = scenarioNames();

it('has at least 25 complete scenario folders', () => {
  expect(names.length).toBeGreaterThanOrEqual(25);
  for (const name of names) {
    const dir = path.join(SCENARIOS_DIR, name);
    expect(fs.existsSync(path.join(dir, 'pgpact.yaml')), `${name}/pgpact.yaml`).toBe(true);
    expect(fs.existsSync(path.join(dir, 'expected.json')), `${name}/expected.json`).toBe(true);
    const hasChange =
      fs.existsSync(path.join(dir, 'change')) || fs.existsSync(path.join(dir, 'args.json'));
    expect(hasChange, `${name} has change/*.sql or args.json files`).toBe(true);
  }
});

// One server per Postgres version, one shadow database per scenario.
describeEachServer('pgpact check scenarios', (server) => {
  for (const name of names) {
    it(name, async () => {
      const actual = await runScenario(name, server().url);
      expect(actual).toEqual(expectedOutcome(name));
    });
  }
});
