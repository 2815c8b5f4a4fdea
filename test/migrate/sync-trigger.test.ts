import { describe, expect, it } from 'vitest';
import { syncFunctionSql } from '../../src/migrate/sync-trigger.js';

describe('the sync function text', () => {
  it('keeps a rule name with a carriage return or newline inside its one-line comment', () => {
    const sql = syncFunctionSql({
      table: { schema: 'shop', name: 't' },
      functionName: 'sync_f',
      triggerName: 'zz_pgpact_sync_x',
      rules: [
        {
          kind: 'fill-null',
          operation: "add_column x\rEXECUTE 'DROP TABLE other.victim';\nRETURN NULL;",
          column: 'x',
          expression: '1',
          inputs: [],
        },
      ],
    });
    // Postgres ends a -- comment at \r as well as \n: neither may reach the function body.
    expect(sql).not.toMatch(/\r/);
    const line = sql.split('\n').find((l) => l.includes('add_column x'));
    expect(line?.trim().startsWith('--')).toBe(true);
    expect(line).toContain("EXECUTE 'DROP TABLE other.victim'; RETURN NULL;");
  });
});
