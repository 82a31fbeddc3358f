import Fastify from 'fastify';
import postgres from 'postgres';
import { finishedReaders } from './finished-readers.ts';

/**
 * The floor of http_floor_vs_pgbench and http_vs_floor: the least an HTTP server in Node.js can do to serve
 * audit.get's transaction. One Fastify route, GET /audit-log/:id, on one postgres.js pool of the request
 * role, sends BEGIN READ ONLY, the API key's enter statement and the SELECT in one pipeline, answers the row
 * as JSON and sends COMMIT without waiting for it, ahead of the next transaction when one starts before the
 * event loop turns (bench/finished-readers.ts), releasing the connection once it is done: the same SQL,
 * pipelined the same way as Palisade's withTenant. No authentication, no validation, no logging, no metrics.
 * Not Palisade: a reference for what the hardware allows.
 *
 * Configured by the benchmark (bench/scenarios/http-floor.ts) through the environment: PORT, FLOOR_DATABASE_URL,
 * FLOOR_POOL_SIZE, FLOOR_TENANT_ID, and FLOOR_STATEMENTS (JSON: the enter statement with its parameters, and
 * the SELECT's text, whose parameters are the tenant id and the row id).
 */
interface FloorStatements {
  enter: { text: string; params: string[] };
  select: string;
}

const statements = JSON.parse(process.env.FLOOR_STATEMENTS ?? '{}') as FloorStatements;
const tenantId = process.env.FLOOR_TENANT_ID ?? '';
const sql = postgres(process.env.FLOOR_DATABASE_URL ?? '', {
  max: Number(process.env.FLOOR_POOL_SIZE ?? 10),
  onnotice: () => {},
});
const app = Fastify();

const readers = finishedReaders(sql);

app.get<{ Params: { id: string } }>('/audit-log/:id', async (req, reply) => {
  const conn = await readers.take();
  try {
    const begin = conn.unsafe('begin read only').execute();
    const entered = conn.unsafe(statements.enter.text, statements.enter.params as never[], { prepare: true }).execute();
    const rows = conn.unsafe(statements.select, [tenantId, req.params.id] as never[], { prepare: true }).execute();
    await begin;
    await entered;
    const [row] = await rows;
    readers.finish(conn);
    return row ? reply.send(row) : reply.code(404).send({ error: 'not found' });
  } catch (error) {
    await conn.unsafe('rollback').catch(() => {});
    conn.release();
    throw error;
  }
});

const address = await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' });
process.stdout.write(`${JSON.stringify({ url: address })}\n`);
const stop = () =>
  void app
    .close()
    .then(() => sql.end({ timeout: 1 }))
    .finally(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('disconnect', stop);
