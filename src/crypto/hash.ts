import { createHash } from 'node:crypto';

/**
 * The SHA-256 of a high-entropy secret (API keys, invitation tokens), as
 * stored for lookup. A fast hash is enough: nothing short is there to guess.
 */
export const sha256Hex = (secret: string) => createHash('sha256').update(secret).digest('hex');
