/**
 * The address shapes of users.account during and after the split of `street_and_number`
 * (src/demo/assets/split-street-and-number.yaml): the same rules in JavaScript as the
 * migration's SQL, so users v2 and the sync trigger always agree.
 */

/**
 * What `\s` matches in a Postgres regular expression under the C locale (the demo's and the
 * tests' servers): ASCII whitespace only. A no-break space is part of a word there.
 */
const SPACE = ' \\t\\n\\v\\f\\r';
/** `\s+\S+$`, applied like regexp_replace without the g flag: the leftmost match. */
const SEPARATED_LAST_WORD = new RegExp(`[${SPACE}]+[^${SPACE}]+$`);
/** `\S+$`. */
const LAST_WORD = new RegExp(`[^${SPACE}]+$`);
const ANY_SPACE = new RegExp(`[${SPACE}]`);

/** The new shape of an address: street and house number. */
export interface StreetAndNumber {
  street: string;
  number: string;
}

/**
 * The migration's `up` expressions, exactly: street = regexp_replace(s, '\s+\S+$', ''),
 * number = substring(s from '\S+$') (null when s ends in whitespace).
 */
export function splitLikeMigration(value: string): { street: string; number: string | null } {
  return {
    street: value.replace(SEPARATED_LAST_WORD, ''),
    number: LAST_WORD.exec(value)?.[0] ?? null,
  };
}

/** The migration's `down` expression, `street || ' ' || number`: the old shape from the new. */
export function joinLikeMigration(street: string, number: string): string {
  return `${street} ${number}`;
}

/**
 * Splits a `street_and_number` a client sent, or undefined when it has no house number
 * separated by whitespace: `up` would then make street and number both the whole text,
 * and `down` would turn "Hauptstraße" into "Hauptstraße Hauptstraße".
 */
export function splitStreetAndNumber(value: string): StreetAndNumber | undefined {
  const { street, number } = splitLikeMigration(value);
  if (number === null || street === value || street === '') return undefined;
  return { street, number };
}

/** Whether a house number survives down then up unchanged: one word, no (ASCII) whitespace. */
export function isOneWord(value: string): boolean {
  return value !== '' && !ANY_SPACE.test(value);
}
