import { PGlite } from '@electric-sql/pglite';
import { sql } from 'drizzle-orm';
import { DrizzleQueryError } from 'drizzle-orm/errors';
import { drizzle } from 'drizzle-orm/pglite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from './logger.ts';

// Several lines, as a JSON value or a message body would be: cutting `params:` to the end of its line is not enough.
const SECRET = 'first-line-of-the-value\nsession-token-8f3a1c2e9b7d4f60';
const SECRET_PARTS = SECRET.split('\n');

function capture() {
  const lines: string[] = [];
  const logger = createLogger('info', { write: (line: string) => lines.push(line) });
  return { logger, lines, entries: () => lines.map((line) => JSON.parse(line) as { err: Record<string, unknown> }) };
}

function expectNoSecret(lines: string[]) {
  expect(lines.length).toBeGreaterThan(0);
  for (const part of SECRET_PARTS) expect(lines.join('')).not.toContain(part);
}

describe('error serializer', () => {
  let client: PGlite;
  let failed: DrizzleQueryError;

  beforeAll(async () => {
    client = new PGlite();
    const db = drizzle(client);
    await db.execute(sql`create table sessions (token text primary key, user_email text not null)`);
    await db.execute(sql`insert into sessions values (${SECRET}, ${'victim@example.com'})`);
    // A unique violation: the driver error's `detail` quotes the row, Drizzle's error carries the bound values.
    failed = await db.execute(sql`insert into sessions values (${SECRET}, ${'victim@example.com'})`).then(
      () => expect.unreachable('the insert should fail'),
      (error: unknown) => error as DrizzleQueryError,
    );
    expect(failed).toBeInstanceOf(DrizzleQueryError);
    expect(failed.params).toContain(SECRET);
  });
  afterAll(() => client?.close());

  it('writes a failed query without its bound values or the row it collided with', () => {
    const { logger, lines, entries } = capture();
    logger.error({ err: failed }, 'request failed');
    expectNoSecret(lines);
    expect(lines.join('')).not.toContain('victim@example.com');
    const { err } = entries()[0] as { err: Record<string, unknown> };
    expect(err).toMatchObject({
      type: 'DrizzleQueryError',
      query: 'insert into sessions values ($1, $2)',
      params: '[redacted]',
      cause: { code: '23505', constraint: 'sessions_pkey', detail: '[redacted]', params: '[redacted]' },
    });
    expect(err.message).toContain('duplicate key value violates unique constraint');
    expect(err.stack).toContain('\n    at ');
  });

  it('strips the values when the failed query is the cause of another error, under `err` or `error`', () => {
    const { logger, lines, entries } = capture();
    const lookup = new Error('session lookup failed', { cause: failed });
    logger.error({ err: new Error('request failed', { cause: lookup }) }, 'request failed');
    logger.error({ error: lookup }, 'session lookup failed');
    logger.error(lookup);
    expectNoSecret(lines);
    expect(lines).toHaveLength(3);
    const [outer] = entries();
    expect(outer?.err).toMatchObject({ cause: { cause: { type: 'DrizzleQueryError', cause: { code: '23505' } } } });
  });

  it("strips postgres.js's debug-mode fields and PostgreSQL's context, and stops at circular causes", () => {
    const { logger, lines } = capture();
    const driverError = Object.assign(new Error('invalid input value'), {
      code: '22023',
      parameters: [SECRET],
      args: [SECRET],
      detail: `Failing row contains (${SECRET}).`,
      where: `SQL statement "select '${SECRET}'"`,
      internal_query: `select '${SECRET}'`,
    });
    const wrapper = new Error('outer', { cause: driverError });
    (driverError as Error).cause = wrapper;
    logger.error({ err: wrapper }, 'failed');
    logger.error({ err: { reason: 'not an Error', params: [SECRET] } }, 'failed');
    expectNoSecret(lines);
    expect(lines.join('')).toContain('"code":"22023"');
  });
});
