import { describe, expect, it } from 'vitest';
import { isWidening } from '../../src/impact/type-widening.js';

// Types as format_type() prints them in the catalog snapshot.
describe('isWidening', () => {
  it.each([
    ['character varying(20)', 'character varying(40)'],
    ['character varying(20)', 'character varying'],
    ['character varying(20)', 'text'],
    ['character varying', 'text'],
    ['character varying(20)[]', 'character varying(40)[]'],
    ['character varying(20)[]', 'text[]'],
    ['bit varying(8)', 'bit varying(16)'],
    ['bit varying(8)', 'bit varying'],
    ['numeric(10,2)', 'numeric(12,2)'],
    ['numeric(10,2)', 'numeric'],
    ['numeric(2,-3)', 'numeric(4,-3)'],
    ['numeric(10,2)[]', 'numeric[]'],
  ])('%s → %s widens', (from, to) => {
    expect(isWidening(from, to)).toBe(true);
  });

  it.each([
    ['character varying(40)', 'character varying(20)'],
    ['character varying', 'character varying(20)'],
    ['text', 'character varying(20)'],
    ['text', 'character varying'],
    ['character varying(20)', 'character varying(20)[]'],
    ['character varying(20)[]', 'character varying(40)'],
    ['character(20)', 'character(40)'],
    ['character(20)', 'character varying(40)'],
    ['bit(8)', 'bit varying(16)'],
    ['bit varying(16)', 'bit varying(8)'],
    ['numeric(12,2)', 'numeric(10,2)'],
    ['numeric(10,2)', 'numeric(12,3)'],
    ['numeric', 'numeric(12,2)'],
    ['integer', 'bigint'],
    ['smallint', 'integer'],
    ['real', 'double precision'],
    ['timestamp(3) without time zone', 'timestamp(6) without time zone'],
    ['timestamp without time zone', 'timestamp with time zone'],
    ['character varying(20)', 'public.browser_name'],
    ['public.browser_name', 'text'],
  ])('%s → %s does not widen', (from, to) => {
    expect(isWidening(from, to)).toBe(false);
  });

  it('does not widen when a type is unknown', () => {
    expect(isWidening(undefined, 'text')).toBe(false);
    expect(isWidening('character varying(20)', undefined)).toBe(false);
  });
});
