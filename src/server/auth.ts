import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import net from 'node:net';
import { PgpactError } from '../errors.js';

/** The cookie the page keeps the token in after `?token=` on first load. */
export const TOKEN_COOKIE = 'pgpact_dashboard_token';

/** Shortest token accepted when the dashboard is reachable from other machines. */
export const MIN_TOKEN_LENGTH = 16;

/** Whether a listen address only accepts connections from this machine. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (bare.toLowerCase() === 'localhost') return true;
  if (net.isIPv4(bare)) return bare.startsWith('127.');
  if (net.isIPv6(bare)) return bare === '::1' || bare.toLowerCase().startsWith('::ffff:127.');
  return false;
}

/**
 * The token the server enforces: required when bound to a non-loopback address,
 * optional (but enforced when given) on loopback.
 */
export function resolveToken(host: string, token: string | undefined): string | undefined {
  const given = token === undefined || token === '' ? undefined : token;
  if (given === undefined && !isLoopbackHost(host)) {
    throw new PgpactError('USAGE', `refusing to serve the dashboard on ${host} without a token`, {
      hint: 'pass --token T or set PGPACT_DASHBOARD_TOKEN (e.g. from `openssl rand -hex 24`), or keep the default --host 127.0.0.1',
    });
  }
  if (given !== undefined && given.length < MIN_TOKEN_LENGTH) {
    throw new PgpactError(
      'USAGE',
      `the dashboard token is too short (${given.length} characters)`,
      {
        hint: `use at least ${MIN_TOKEN_LENGTH} random characters, e.g. from \`openssl rand -hex 24\``,
      },
    );
  }
  return given;
}

/** Compares a presented token with the expected one in constant time. */
export function tokenMatches(expected: string, presented: string | undefined): boolean {
  if (presented === undefined) return false;
  // Hashing first gives equal lengths, so timingSafeEqual never throws and length leaks nothing.
  const a = createHash('sha256').update(expected).digest();
  const b = createHash('sha256').update(presented).digest();
  return timingSafeEqual(a, b);
}

/** Reads one cookie from a request. */
export function readCookie(req: IncomingMessage, name: string): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq === -1) continue;
    if (part.slice(0, eq).trim() !== name) continue;
    try {
      return decodeURIComponent(part.slice(eq + 1).trim());
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** The token a request presents: `Authorization: Bearer`, else the cookie. */
export function presentedToken(req: IncomingMessage): string | undefined {
  const auth = req.headers.authorization;
  if (auth !== undefined) {
    const match = /^Bearer\s+(.+)$/i.exec(auth.trim());
    return match ? match[1] : undefined;
  }
  return readCookie(req, TOKEN_COOKIE);
}

/** The Set-Cookie value that keeps the token for later requests of the page. */
export function tokenCookie(token: string): string {
  return `${TOKEN_COOKIE}=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/`;
}

/**
 * Whether a Host header names this machine: a loopback-bound dashboard without a token
 * refuses other names, so a web page cannot reach it through DNS rebinding.
 */
export function hostHeaderIsLocal(hostHeader: string | undefined): boolean {
  if (!hostHeader) return false;
  const host = hostHeader.startsWith('[')
    ? hostHeader.slice(0, hostHeader.indexOf(']') + 1)
    : hostHeader.split(':')[0]!;
  return isLoopbackHost(host);
}
