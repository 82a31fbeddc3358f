import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freeLoopbackPort } from '../../test/support/free-port.ts';
import { createFreshDatabase, type FreshDatabase } from '../../test/support/postgres.ts';
import { TcpProxy } from '../../test/support/tcp-proxy.ts';
import { type Database, openDatabase, type Tx } from './client.ts';
import { migrate } from './migrate.ts';
import { queryRows } from './tenant.ts';

/**
 * `Database.ready`: each pool learns the database's array types once, and its later connections do not ask
 * again. postgres.js asks on every new connection and drops that query's promise, so a connection closed
 * while asking (a restart, a test database dropped at teardown) ended the process with an unhandled
 * rejection. Counted on the wire, through a proxy in front of the server.
 */
const TYPES_QUERY = 'from pg_catalog.pg_type';
const ENTER = {
  text: "select pg_catalog.set_config('app.tenant_id', $1, true)",
  params: ['00000000-0000-4000-8000-0000000000aa'],
};

(inject('serverPostgres') ? describe : describe.skip)('Database.ready [postgres]', () => {
  let fresh: FreshDatabase;
  let proxy: TcpProxy;
  let database: Database;
  const typesQueriesSent = () => proxy.sent.filter((chunk) => chunk.includes(TYPES_QUERY)).length;

  beforeAll(async () => {
    fresh = await createFreshDatabase();
    proxy = new TcpProxy(await freeLoopbackPort(), '127.0.0.1', Number(new URL(fresh.url).port || 5432));
    await proxy.start();
    proxy.recordSent = true;
    database = await openDatabase({ url: proxy.urlFor(fresh.url), poolSize: 4 });
    await migrate(database);
  });
  afterAll(async () => {
    await database?.close();
    await proxy?.stop();
    await fresh?.drop();
  });

  it('asks for the array types once per pool, and no later connection asks again', async () => {
    await database.ready();
    const asked = typesQueriesSent();
    // Migrations opened the owner pool's first connection; ready() the request pool's.
    expect(asked).toBeGreaterThanOrEqual(2);
    const connectionsBefore = proxy.connections;

    // Four transactions held open at once need four request connections, three of them new (ready() opened
    // one); four owner queries at once as many owner connections, some of them new.
    const holdOpen = (tx: Tx) => queryRows(tx, sql`select pg_sleep(0.2)`);
    await Promise.all([
      ...Array.from({ length: 4 }, () => database.transaction(ENTER, holdOpen)),
      ...Array.from({ length: 4 }, () => database.ownerQuery('select pg_sleep(0.2)')),
    ]);

    expect(proxy.connections - connectionsBefore).toBeGreaterThanOrEqual(3);
    expect(typesQueriesSent()).toBe(asked);
  });
});
