import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type SignedTokenFormat, signToken, verifyToken } from './signed-token.ts';

const KEY = 'a test key of reasonable length';
const NOTE: SignedTokenFormat<{ n: number }> = {
  prefix: 'n1.',
  context: 'palisade.test-note.v1.',
  maxLength: 256,
  payload: z.object({ n: z.number().int() }),
};

describe('signed tokens', () => {
  it('round-trips a payload', () => {
    expect(verifyToken(KEY, NOTE, signToken(KEY, NOTE, { n: 7 }))).toEqual({ n: 7 });
  });

  it('never verifies as another kind under the same key and prefix: the context is part of the MAC', () => {
    const other: SignedTokenFormat<{ n: number }> = { ...NOTE, context: 'palisade.other-note.v1.' };
    expect(verifyToken(KEY, other, signToken(KEY, NOTE, { n: 7 }))).toBeNull();
  });

  it('refuses a correctly signed payload that does not match the schema', () => {
    const loose: SignedTokenFormat<unknown> = { ...NOTE, payload: z.unknown() };
    expect(verifyToken(KEY, NOTE, signToken(KEY, loose, { n: 'seven' }))).toBeNull();
  });

  it('refuses a token longer than the format allows before verifying it', () => {
    const token = signToken(KEY, { ...NOTE, maxLength: 10_000 }, { n: 1, pad: 'x'.repeat(300) } as { n: number });
    expect(verifyToken(KEY, { ...NOTE, maxLength: 10_000 }, token)).toEqual({ n: 1 });
    expect(verifyToken(KEY, NOTE, token)).toBeNull();
  });
});
