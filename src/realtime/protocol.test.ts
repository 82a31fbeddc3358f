import { describe, expect, it } from 'vitest';
import { parseClientMessage, parseTypesQuery } from './protocol.ts';

describe('realtime protocol', () => {
  it('accepts subscribe and ping messages', () => {
    expect(parseClientMessage('{"type":"ping"}')).toEqual({ ok: true, message: { type: 'ping' } });
    expect(parseClientMessage('{"type":"subscribe","types":["*","contact.*","member.created","a_b.c_d.*"]}')).toEqual({
      ok: true,
      message: { type: 'subscribe', types: ['*', 'contact.*', 'member.created', 'a_b.c_d.*'] },
    });
  });

  it('rejects malformed messages with a reason', () => {
    expect.assertions(23);
    const bad = [
      'not json',
      '[]',
      '{"type":"unsubscribe"}',
      '{"type":"subscribe"}',
      '{"type":"subscribe","types":"contact.*"}',
      '{"type":"subscribe","types":["Contact.*"]}',
      '{"type":"subscribe","types":["contact.*.created"]}',
      '{"type":"subscribe","types":["contact..created"]}',
      '{"type":"subscribe","types":[".*"]}',
      JSON.stringify({ type: 'subscribe', types: [`${'a'.repeat(101)}`] }),
      JSON.stringify({ type: 'subscribe', types: Array.from({ length: 51 }, (_, i) => `t${i}.*`) }),
    ];
    for (const text of bad) {
      const parsed = parseClientMessage(text);
      expect(parsed.ok, text).toBe(false);
      if (!parsed.ok) expect(parsed.error.length).toBeGreaterThan(0);
    }
    expect(
      parseClientMessage(JSON.stringify({ type: 'subscribe', types: Array.from({ length: 50 }, (_, i) => `t${i}.*`) })).ok,
    ).toBe(true);
  });

  it('reads the initial filter from the query', () => {
    expect(parseTypesQuery(undefined)).toEqual(['*']);
    expect(parseTypesQuery('')).toEqual(['*']);
    expect(parseTypesQuery('contact.*, member.created')).toEqual(['contact.*', 'member.created']);
    expect(parseTypesQuery(['contact.*', 'member.*'])).toEqual(['contact.*', 'member.*']);
    expect(parseTypesQuery('contact.*,DROP TABLE')).toBeNull();
  });
});
