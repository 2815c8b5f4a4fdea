/**
 * Durations and sizes as Postgres reads them for its settings: a number
 * (fractions allowed, rounded like Postgres does) and a case-sensitive unit.
 */
import { closestName } from './closest.js';

/** Result of reading a duration or size: the value, or why it is wrong and what to write. */
export type UnitResult = { ok: true; value: number } | { ok: false; message: string; hint: string };

const INT_MAX = 2147483647;

const DURATION_UNITS: Record<string, number> = {
  us: 0.001,
  ms: 1,
  s: 1000,
  min: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};
const DURATION_ALIASES: Record<string, string> = {
  m: 'min',
  mins: 'min',
  minute: 'min',
  minutes: 'min',
  sec: 's',
  secs: 's',
  second: 's',
  seconds: 's',
  msec: 'ms',
  msecs: 'ms',
  millisecond: 'ms',
  milliseconds: 'ms',
  hr: 'h',
  hrs: 'h',
  hour: 'h',
  hours: 'h',
  day: 'd',
  days: 'd',
};

/** Memory units to kilobytes (Postgres's memory units; 1kB = 1024 bytes). */
const SIZE_UNITS: Record<string, number> = {
  B: 1 / 1024,
  kB: 1,
  MB: 1024,
  GB: 1024 ** 2,
  TB: 1024 ** 3,
};
const SIZE_ALIASES: Record<string, string> = {
  k: 'kB',
  kb: 'kB',
  kib: 'kB',
  m: 'MB',
  mb: 'MB',
  mib: 'MB',
  g: 'GB',
  gb: 'GB',
  gib: 'GB',
  t: 'TB',
  tb: 'TB',
  tib: 'TB',
  b: 'B',
  bytes: 'B',
};

/** A decimal number as Postgres reads it (fraction and exponent allowed), then an optional unit. */
const NUMBER_AND_UNIT =
  /^(\+?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)\s*([^\s0-9.+-]*)$/u;

function suggestUnit(
  unit: string,
  units: string[],
  aliases: Record<string, string>,
): string | undefined {
  return aliases[unit] ?? aliases[unit.toLowerCase()] ?? closestName(unit, units);
}

function readNumberAndUnit(
  text: string,
  units: Record<string, number>,
  aliases: Record<string, string>,
  bareUnit: string,
  what: string,
): { ok: true; value: number; zero: boolean } | { ok: false; message: string; hint: string } {
  const unitList = Object.keys(units);
  const example = `one of ${unitList.map((u) => `\`${u}\``).join(', ')}; a bare number means ${bareUnit}`;
  const match = NUMBER_AND_UNIT.exec(text.trim());
  if (!match) {
    const negative = text.trim().startsWith('-');
    return {
      ok: false,
      message: negative ? `${what} \`${text}\` is negative` : `\`${text}\` is not a ${what}`,
      hint: `write a number and a unit, ${example}`,
    };
  }
  const amount = Number(match[1]);
  const unit = match[2] === '' ? bareUnit : match[2]!;
  const factor = units[unit];
  if (factor === undefined) {
    const suggestion = suggestUnit(unit, unitList, aliases);
    return {
      ok: false,
      message: `unknown unit \`${unit}\` in ${what} \`${text}\``,
      hint: suggestion
        ? `did you mean \`${match[1]}${suggestion}\`? Units are case-sensitive: ${example}`
        : `units are case-sensitive: ${example}`,
    };
  }
  // Like Postgres: a fraction is first rounded to a whole number of the next smaller unit (0.001min is 0s), then to the base unit.
  const factors = Object.values(units).sort((a, b) => a - b);
  const smaller = factors[factors.indexOf(factor) - 1];
  const converted =
    smaller === undefined ? amount * factor : roundHalfEven((amount * factor) / smaller) * smaller;
  return { ok: true, value: roundHalfEven(converted), zero: amount === 0 };
}

/** Rounds to the nearest integer, halves to even, as C's rint() does by default. */
function roundHalfEven(x: number): number {
  const rounded = Math.round(x);
  return Math.abs(x % 1) === 0.5 && rounded % 2 !== 0 ? rounded - 1 : rounded;
}

/** Reads a Postgres duration (`500ms`, `2s`, `1min`, `1h`, `1d`, bare integer = ms) into milliseconds; 0 disables. */
export function parseDuration(text: string): UnitResult {
  const read = readNumberAndUnit(text, DURATION_UNITS, DURATION_ALIASES, 'ms', 'duration');
  if (!read.ok) return read;
  if (read.value === 0 && !read.zero) {
    return {
      ok: false,
      message: `duration \`${text}\` rounds to 0 ms, which would disable the timeout`,
      hint: 'write at least 1ms, or 0 to disable the timeout',
    };
  }
  if (read.value > INT_MAX) {
    return {
      ok: false,
      message: `duration \`${text}\` is longer than Postgres allows (${INT_MAX} ms, about 24.8 days)`,
      hint: 'write a shorter duration, or 0 to disable the timeout',
    };
  }
  return { ok: true, value: read.value };
}

/** Smallest and largest work_mem Postgres accepts, in kB. */
export const WORK_MEM_MIN_KB = 64;
export const WORK_MEM_MAX_KB = INT_MAX;

/** Reads a Postgres memory size (`64kB`, `16MB`, `1GB`, bare integer = kB) into kilobytes, within work_mem's bounds. */
export function parseWorkMem(text: string): UnitResult {
  const read = readNumberAndUnit(text, SIZE_UNITS, SIZE_ALIASES, 'kB', 'size');
  if (!read.ok) return read;
  if (read.value < WORK_MEM_MIN_KB || read.value > WORK_MEM_MAX_KB) {
    return {
      ok: false,
      message: `work_mem \`${text}\` is outside what Postgres allows (64kB to ${WORK_MEM_MAX_KB}kB, about 2TB)`,
      hint: 'write a size such as `4MB` or `64MB`',
    };
  }
  return { ok: true, value: read.value };
}
