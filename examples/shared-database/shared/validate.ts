import { HttpError } from './http.js';

/** The body as a plain object, or 400. */
export function requireObject(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new HttpError(400, 'body_not_object', 'the body must be a JSON object');
  }
  return body as Record<string, unknown>;
}

/** Rejects fields the endpoint does not know, so typos do not pass silently. */
export function rejectUnknownFields(body: Record<string, unknown>, known: readonly string[]): void {
  const unknown = Object.keys(body).filter((k) => !known.includes(k));
  if (unknown.length > 0) {
    throw new HttpError(
      400,
      'unknown_field',
      `unknown field(s): ${unknown.join(', ')}; expected ${known.join(', ')}`,
    );
  }
}

/** A non-empty trimmed string of at most max characters, or 400 (undefined when optional and absent). */
export function stringField(
  body: Record<string, unknown>,
  name: string,
  options: { max: number; optional?: boolean },
): string | undefined {
  const value = body[name];
  if (value === undefined && options.optional) return undefined;
  if (typeof value !== 'string')
    throw new HttpError(400, 'invalid_field', `${name} must be a string`);
  const trimmed = value.trim();
  if (trimmed === '') throw new HttpError(400, 'invalid_field', `${name} must not be empty`);
  if ([...trimmed].length > options.max) {
    throw new HttpError(400, 'invalid_field', `${name} must be at most ${options.max} characters`);
  }
  if (trimmed.includes('\u0000'))
    throw new HttpError(400, 'invalid_field', `${name} must not contain NUL`);
  return trimmed;
}

/** A positive integer id (as written in a path or a body), or 400. */
export function parseId(value: unknown, name = 'id'): number {
  const text = typeof value === 'number' ? String(value) : value;
  if (
    typeof text !== 'string' ||
    !/^[1-9][0-9]{0,15}$/.test(text) ||
    !Number.isSafeInteger(Number(text))
  ) {
    throw new HttpError(400, 'invalid_id', `${name} must be a positive integer`);
  }
  return Number(text);
}

/** A money amount > 0 with at most two decimals (number or decimal string), returned as a decimal string. */
export function parseAmount(value: unknown, name = 'amount'): string {
  const text = typeof value === 'number' && Number.isFinite(value) ? String(value) : value;
  if (typeof text !== 'string' || !/^[0-9]{1,10}(\.[0-9]{1,2})?$/.test(text) || Number(text) <= 0) {
    throw new HttpError(
      400,
      'invalid_amount',
      `${name} must be a positive amount with at most two decimals, below 10^10`,
    );
  }
  return text;
}

/** An integer query parameter within [min, max], or the default. */
export function intParam(
  query: URLSearchParams,
  name: string,
  options: { min: number; max: number; fallback: number },
): number {
  const raw = query.get(name);
  if (raw === null) return options.fallback;
  const n = /^-?[0-9]+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < options.min || n > options.max) {
    throw new HttpError(
      400,
      'invalid_query',
      `${name} must be an integer from ${options.min} to ${options.max}`,
    );
  }
  return n;
}
