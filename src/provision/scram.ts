/** SCRAM-SHA-256 password verifiers computed here, so a plaintext password never reaches the server or its logs. */
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';

/** Iterations Postgres uses by default (scram_iterations). */
const ITERATIONS = 4096;

/** RFC 3454 table B.1, "commonly mapped to nothing" (built from code points: the set holds combining marks). */
const MAPPED_TO_NOTHING = new RegExp(
  `[${[0xad, 0x34f, 0x1806, 0x180b, 0x180c, 0x180d, 0x200c, 0x200d, 0x2060, 0xfeff]
    .map((c) => `\\u${c.toString(16).padStart(4, '0')}`)
    .join('')}\\uFE00-\\uFE0F]`,
  'gu',
);

/**
 * SASLprep as node-postgres and libpq apply it before hashing (RFC 4013's
 * mappings and NFKC), so the verifier matches what clients compute at login.
 */
function saslprep(password: string): string {
  return password
    .replace(/[\u00A0\u1680\u2000-\u200B\u202F\u205F\u3000]/g, ' ')
    .replace(MAPPED_TO_NOTHING, '')
    .normalize('NFKC');
}

/** The verifier Postgres stores for a password: `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`. */
export function scramVerifier(
  password: string,
  salt: Buffer = randomBytes(16),
  iterations = ITERATIONS,
): string {
  const salted = pbkdf2Sync(saslprep(password), salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}
