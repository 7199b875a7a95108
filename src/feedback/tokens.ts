// Sign-in tokens. A token is `<user id>.<secret>` where the secret is 32 random bytes (base64url).
// Only SHA-256 of the secret is stored; a presented token is checked with a constant-time compare
// of the two digests, so neither the stored value nor response timing reveals the secret.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export function newSecret(): string {
  return randomBytes(32).toString('base64url');
}

export function hashSecret(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}

export function formatToken(userId: number, secret: string): string {
  return `${userId}.${secret}`;
}

/** Splits a presented token; null when it is not of the form `<id>.<43 base64url chars>`. */
export function parseToken(token: string): { userId: number; secret: string } | null {
  const m = /^([1-9][0-9]{0,15})\.([A-Za-z0-9_-]{43})$/.exec(token);
  if (!m) return null;
  return { userId: Number(m[1]), secret: m[2]! };
}

/** Constant-time check of a presented secret against a stored SHA-256 digest. */
export function secretMatches(secret: string, storedHash: Buffer): boolean {
  const presented = hashSecret(secret);
  return storedHash.length === presented.length && timingSafeEqual(presented, storedHash);
}
