import { randomBytes } from 'node:crypto';
import { sha256Hex } from '../crypto/hash.ts';

/**
 * API key secrets: `pal_live_` (production) or `pal_test_` (elsewhere), 32
 * random bytes in base62, and a 6-character CRC32 checksum, e.g.
 * `pal_test_3kT9...Qz_a1B2c3`. The prefix makes leaked keys recognisable to
 * secret scanners; the checksum lets the server refuse a mistyped or invented
 * key without a database lookup. Only the SHA-256 of the whole key is stored:
 * the secret has 190 bits of entropy, so a fast hash is enough (nothing to
 * brute-force, unlike a password).
 */
const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const BODY_LENGTH = 32;
const CHECKSUM_LENGTH = 6;
const KEY_PATTERN = /^pal_(live|test)_([0-9A-Za-z]{32})_([0-9A-Za-z]{6})$/;
/** How many characters of the body the display prefix keeps: enough to tell keys apart, far too few to guess the rest. */
const DISPLAY_CHARS = 6;

export type KeyEnvironment = 'live' | 'test';

function base62(bytes: Buffer, length: number): string {
  let out = '';
  for (const byte of bytes) {
    // 256 is not a multiple of 62; rejecting the top values keeps every character equally likely.
    if (byte >= 248) continue;
    out += ALPHABET[byte % 62];
    if (out.length === length) return out;
  }
  return out + base62(randomBytes(length), length - out.length);
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function checksum(text: string): string {
  let crc = 0xffffffff;
  for (const byte of Buffer.from(text)) crc = (CRC_TABLE[(crc ^ byte) & 0xff] as number) ^ (crc >>> 8);
  let value = (crc ^ 0xffffffff) >>> 0;
  let out = '';
  for (let i = 0; i < CHECKSUM_LENGTH; i++) {
    out = ALPHABET[value % 62] + out;
    value = Math.floor(value / 62);
  }
  return out;
}

export interface GeneratedApiKey {
  /** Shown to the creator once, never stored. */
  secret: string;
  /** Stored, and shown in lists: the environment plus the first characters of the body. */
  displayPrefix: string;
  secretHash: string;
}

export const hashApiKey = sha256Hex;

export function generateApiKey(environment: KeyEnvironment): GeneratedApiKey {
  const head = `pal_${environment}_${base62(randomBytes(48), BODY_LENGTH)}`;
  const secret = `${head}_${checksum(head)}`;
  return { secret, displayPrefix: head.slice(0, `pal_${environment}_`.length + DISPLAY_CHARS), secretHash: hashApiKey(secret) };
}

/** True when the text has the shape and checksum of a Palisade key (it may still be unknown or revoked). */
export function isWellFormedApiKey(text: string): boolean {
  const match = KEY_PATTERN.exec(text);
  if (!match) return false;
  const head = text.slice(0, text.length - CHECKSUM_LENGTH - 1);
  return checksum(head) === match[3];
}

/** Looks like a Palisade key, well formed or not: such a bearer token is never treated as a session token. */
export const looksLikeApiKey = (text: string) => text.startsWith('pal_');

/** Random base62 text, every character equally likely (publishable widget keys). */
export const randomBase62 = (length: number): string => base62(randomBytes(length * 2), length);
