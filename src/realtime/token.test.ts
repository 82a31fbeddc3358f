import { describe, expect, it } from 'vitest';
import { issueRealtimeToken, verifyRealtimeToken } from './token.ts';

const SECRET = 'a test secret of reasonable length';
const T0 = Date.parse('2025-06-01T12:00:00.000Z');
const claims = { tenantId: 'acme', userId: 'u1', apiKeyId: null };

describe('realtime tokens', () => {
  it('round-trips the claims, for users and for API keys', () => {
    const token = issueRealtimeToken(SECRET, claims, 60, T0);
    expect(token).toMatch(/^rt_[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
    expect(verifyRealtimeToken(SECRET, token, T0)).toEqual(claims);
    const keyClaims = { tenantId: 'acme', userId: null, apiKeyId: 'k1' };
    expect(verifyRealtimeToken(SECRET, issueRealtimeToken(SECRET, keyClaims, 60, T0), T0)).toEqual(keyClaims);
  });

  it('expires after its time to live', () => {
    const token = issueRealtimeToken(SECRET, claims, 60, T0);
    expect(verifyRealtimeToken(SECRET, token, T0 + 59_999)).toEqual(claims);
    expect(verifyRealtimeToken(SECRET, token, T0 + 60_000)).toBeNull();
    expect(verifyRealtimeToken(SECRET, issueRealtimeToken(SECRET, claims, 60))).toEqual(claims);
  });

  it('rejects a token whose payload or signature was changed', () => {
    expect.assertions(4);
    const token = issueRealtimeToken(SECRET, claims, 60, T0);
    const [payload = '', signature = ''] = token.slice(3).split('.');
    const body = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    for (const changed of [
      { ...body, tenantId: 'globex' },
      { ...body, exp: body.exp + 3600 },
    ]) {
      const forged = Buffer.from(JSON.stringify(changed)).toString('base64url');
      expect(verifyRealtimeToken(SECRET, `rt_${forged}.${signature}`, T0)).toBeNull();
    }
    const flipped = `${signature.slice(0, 10)}${signature[10] === 'A' ? 'B' : 'A'}${signature.slice(11)}`;
    expect(verifyRealtimeToken(SECRET, `rt_${payload}.${flipped}`, T0)).toBeNull();
    // The same bytes in a non-canonical spelling (the last character's unused bits) are refused too.
    const last = signature.at(-1) ?? '';
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const twin = alphabet[alphabet.indexOf(last) ^ 1] ?? '';
    expect(verifyRealtimeToken(SECRET, `rt_${payload}.${signature.slice(0, -1)}${twin}`, T0)).toBeNull();
  });

  it('rejects a token signed with another secret', () => {
    expect(verifyRealtimeToken(SECRET, issueRealtimeToken('another secret', claims, 60, T0), T0)).toBeNull();
  });

  it('rejects malformed tokens', () => {
    expect.assertions(8);
    const token = issueRealtimeToken(SECRET, claims, 60, T0);
    for (const bad of [
      '',
      'rt_',
      'rt_.',
      'rt_abc',
      `pal_${token.slice(3)}`,
      `${token}.extra`,
      `rt_${'a'.repeat(3000)}.b`,
      'rt_a+b.c/d',
    ]) {
      expect(verifyRealtimeToken(SECRET, bad, T0)).toBeNull();
    }
  });
});
