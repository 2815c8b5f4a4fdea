import { expect, it } from 'vitest';
import { maskUrl } from '../../src/postgres/connection-failure.js';

/** Every message that shows a URL shows it through maskUrl: no form of password survives it. */
it.each([
  ['postgresql://u:secret@h:5432/d', 'postgresql://u:***@h:5432/d'],
  ['postgres://u:se%40cret@h/d', 'postgres://u:***@h/d'],
  ['postgres://u:p@ss@[bad/db', 'postgres://u:***@[bad/db'],
  ['mysql://root:secret@h/d', 'mysql://root:***@h/d'],
  ['u:secret@host/db', 'u:***@host/db'],
  [
    'postgresql://h/d?password=secret&sslmode=require',
    'postgresql://h/d?password=***&sslmode=require',
  ],
  ['postgresql://u@h/d', 'postgresql://u@h/d'],
])('maskUrl(%s) = %s', (url, masked) => {
  expect(maskUrl(url)).toBe(masked);
  expect(maskUrl(url)).not.toContain('secret');
});
