import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { PgDialect } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { drizzle as drizzlePostgres, PostgresJsDatabase, PostgresJsSession } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import { isConnectionLost } from './connection-errors.ts';

/**
 * The raw database handles. Only db/ and auth/ may import this file: feature
 * modules reach tenant data through `withTenant` alone (enforced by the
 * import-boundary test).
 */

/** What a tenant transaction sees: the Drizzle query builder, nothing else. */
export type Tx = PgDatabase<PgQueryResultHKT>;

export interface Statement {
  text: string;
  params: unknown[];
}

/** What one tenant transaction cost, for metrics and the slow-query log. Statement texts carry placeholders, never values. */
export interface TransactionReport {
  /** From asking for a connection until the context was set (pool wait, BEGIN and the enter statement). */
  contextMs: number;
  totalMs: number;
  statements: string[];
}

/**
 * `read only` transactions (those of tRPC queries and REST GETs) cannot write: PostgreSQL refuses it. That
 * makes their COMMIT a formality, which the server PostgreSQL client sends without waiting for it, ahead of
 * the connection's next transaction when one follows at once.
 */
export type TransactionAccess = 'read write' | 'read only';

export type TransactionObserver = (report: TransactionReport) => void;

export interface DatabaseOptions {
  /** Server PostgreSQL, owner role. Unset: embedded PGlite. */
  url?: string | undefined;
  /** Optional login for the request role; unset: the owner connection switches role per transaction. */
  appUrl?: string | undefined;
  poolSize?: number;
  /** How long a transaction waits for a request connection before failing with UNAVAILABLE (10 s). */
  reserveTimeoutMs?: number;
  /** PGlite data directory; `memory://` for a throwaway database. */
  dataDir?: string;
}

export interface Database {
  readonly kind: 'pglite' | 'postgres';
  /** Owner connection for migrations and the auth library. Bypasses nothing by itself, but is never given to modules. */
  readonly owner: Tx;
  /**
   * Runs `fn` in one transaction that starts with `enter` (which switches to the
   * request role and sets the transaction-local context). On server PostgreSQL
   * BEGIN, `enter` and the first statement of `fn` travel in one pipeline.
   */
  transaction<T>(enter: Statement, fn: (tx: Tx) => Promise<T>, access?: TransactionAccess): Promise<T>;
  /**
   * One statement on the request pool, in its own implicit transaction: one
   * round trip. Only for statements that switch to the request role themselves.
   */
  statement<R = Record<string, unknown>>(statement: Statement): Promise<R[]>;
  /** One statement on the owner connection; rows as objects. */
  ownerQuery<R = Record<string, unknown>>(text: string, params?: unknown[]): Promise<R[]>;
  /** A parameterless multi-statement script on the owner connection (migrations). */
  ownerScript(script: string): Promise<void>;
  /** Calls onNotify for every NOTIFY on channel; resolves with a function that stops listening. */
  listen(channel: string, onNotify: (payload: string) => void): Promise<() => Promise<void>>;
  /** Runs fn while holding a session-level advisory lock (a no-op on PGlite, which one process owns). */
  withOwnerLock<T>(key: number, fn: () => Promise<T>): Promise<T>;
  /** Pool gauges for metrics: connections in use, idle and waiting (PGlite: one connection). */
  poolStats(): { total: number; idle: number; waiting: number };
  /**
   * Called once the migrations are applied: connects each pool once and keeps the database's array types it
   * learns, so that later connections skip asking. postgres.js asks on every new connection before its first
   * statement and drops the promise of that query, so a connection lost during it (a restart, a shutdown)
   * ended in an unhandled rejection.
   */
  ready(): Promise<void>;
  /** Hears about every finished tenant transaction (one observer; the server's metrics). */
  observeTransactions(observer: TransactionObserver | undefined): void;
  close(): Promise<void>;
}

export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  return options.url ? openPostgres(options.url, options) : openPglite(options.dataDir ?? './.palisade/pgdata');
}

async function openPglite(dataDir: string): Promise<Database> {
  if (!dataDir.startsWith('memory://')) mkdirSync(dataDir, { recursive: true });
  const client = await PGlite.create(dataDir, { extensions: { vector } });
  const owner = drizzlePglite(client) as unknown as Tx;
  let waiting = 0;
  let observer: TransactionObserver | undefined;
  return {
    kind: 'pglite',
    owner,
    async transaction(enter, fn, access = 'read write') {
      waiting++;
      const started = performance.now();
      const statements: string[] = [];
      let contextMs = 0;
      const result = await client.transaction(async (raw) => {
        waiting--;
        // The same refusal of writes as on server PostgreSQL, so that tests on either engine catch a write in a query.
        if (access === 'read only') await raw.query('set transaction read only');
        await raw.query(enter.text, enter.params);
        contextMs = performance.now() - started;
        const logger = observer ? { logQuery: (query: string) => statements.push(query) } : undefined;
        return fn(drizzlePglite(raw as unknown as PGlite, { logger }) as unknown as Tx);
      });
      observer?.({ contextMs, totalMs: performance.now() - started, statements });
      return result;
    },
    observeTransactions(next) {
      observer = next;
    },
    async statement(statement) {
      const result = await client.query(statement.text, statement.params);
      return result.rows as never[];
    },
    async ownerQuery(text, params = []) {
      const result = await client.query(text, params);
      return result.rows as never[];
    },
    async ownerScript(script) {
      await client.exec(script);
    },
    withOwnerLock: (_key, fn) => fn(),
    listen: (channel, onNotify) => client.listen(channel, onNotify),
    poolStats: () => ({ total: 1, idle: waiting > 0 ? 0 : 1, waiting }),
    ready: async () => {},
    close: () => client.close(),
  };
}

/**
 * The connection as Drizzle's session sees it, with every statement prepared. Drizzle prepares only queries
 * given a name (`.prepare('x')`). An unprepared postgres.js query with parameters first asks the server for
 * their types (a round trip of its own, which also stops the pipeline) and PostgreSQL then parses, rewrites
 * and plans it again, row-level security policies included, on every request. postgres.js keeps one named
 * statement per query text and connection; texts are parameterised, so their number is bounded by the code,
 * and connections are recycled (max_lifetime), which bounds what each one holds. The enter statements and
 * `statement()` are prepared for the same reason.
 */
function preparing<C extends postgres.Sql | postgres.ReservedSql>(client: C): C {
  return new Proxy(client, {
    get(target, property, receiver) {
      if (property !== 'unsafe') return Reflect.get(target, property, receiver);
      return (query: string, params?: never[], options?: postgres.UnsafeQueryOptions) =>
        target.unsafe(query, params, preparedUnlessBulk(params, options));
    },
  });
}

const preparedUnlessBulk = (params: unknown[] | undefined, options?: postgres.UnsafeQueryOptions) => ({
  ...options,
  prepare: (params?.length ?? 0) <= PREPARE_MAX_PARAMETERS,
});

/**
 * Statements with more parameters than this are bulk writes and lookups (an import batch of 500 rows).
 * Planning is a small part of their cost, their texts vary with the batch, and preparing them made the
 * 100,000-row import test seven times slower (27 s → 198 s), so they are sent unprepared.
 */
const PREPARE_MAX_PARAMETERS = 100;

/**
 * Seconds before a pool connection tries again after failing to connect. postgres.js's default grows to
 * 20 s, and a query waits for it: during an outage requests would hang up to 20 s for their 503, and after
 * PostgreSQL returns the process would take as long to notice. The same curve, capped at 1 s.
 */
const reconnectBackoff = (retries: number): number => Math.min(3 ** retries / 100, 1) * (0.5 + Math.random() / 2);

/** What a statement on a connection that closed under it fails with (UNAVAILABLE in the error catalogue). */
const connectionClosed = () => Object.assign(new Error('the database connection closed'), { code: 'CONNECTION_CLOSED' });

/** The part of postgres.js's connection object that `closeAware` relies on (what `onexecute` is given). */
interface PoolConnection {
  /** Set while the connection is reserved; postgres.js clears it when the connection closes. */
  reserved: unknown;
  /** Called by the pool when the connection closes (postgres.js's own transactions use it the same way). */
  onclose: ((error: unknown) => void) | null;
}

/** A statement on a reserved connection, as postgres.js returns it: a promise of its rows that it can also reject. */
type IssuedQuery = postgres.PendingQuery<postgres.Row[]> & { reject(error: unknown): void };

/** What a statement that is never sent (its connection had closed) answers: a rejection, made when awaited. */
function neverSent(error: Error) {
  const refused = {
    values: () => refused,
    execute: () => refused,
    // biome-ignore lint/suspicious/noThenProperty: stands in for postgres.js's pending query
    then: <A, B>(done?: (rows: never) => A, failed?: (error: unknown) => B) => Promise.reject(error).then(done, failed),
    catch: <B>(failed: (error: unknown) => B) => Promise.reject(error).catch(failed),
  };
  return refused as unknown as postgres.PendingQuery<postgres.Row[]>;
}

const ignore = () => {};

/**
 * A reserved connection that fails, rather than crashes or hangs, when PostgreSQL closes it under a
 * transaction. postgres.js 3.4.9 mishandles that case (porsager/postgres#1208): a statement written after the
 * socket closed throws from a timer, uncatchably, and ends the process (the rollback after the failure is
 * such a statement); a statement still queued on the reserved connection is never settled; and a released
 * dead connection is handed out again. So no statement is sent once the connection closed, every statement
 * sent is rejected when it closes (postgres.js's query is a promise that exposes its own `reject`, so no
 * wrapper promise is needed per statement), and a closed connection is not released: the pool has it among
 * its closed connections already and reconnects it when needed. The first statement must pass
 * `firstStatement` as its options, which gives this the connection object.
 */
function closeAware(conn: postgres.ReservedSql) {
  let connection: PoolConnection | undefined;
  let closedWith: Error | undefined;
  // Every statement of the transaction, until it ends (a few, or a few hundred for a bulk import).
  const issued: IssuedQuery[] = [];
  const closed = () => closedWith !== undefined || connection?.reserved === null;

  const unsafe = (query: string, params: never[] = [], options?: postgres.UnsafeQueryOptions) => {
    if (closed()) return neverSent(closedWith ?? connectionClosed());
    const sent = conn.unsafe(query, params, preparedUnlessBulk(params, options)) as IssuedQuery;
    issued.push(sent);
    return sent;
  };

  return {
    unsafe,
    /** Starts the connection's next transaction: only its own statements are failed if the connection closes. */
    nextTransaction() {
      issued.length = 0;
    },
    closed,
    /**
     * The connection for Drizzle, whose session calls nothing but `unsafe` (and `begin` for nested
     * transactions, which Palisade does not use): a plain object rather than a proxy of the connection.
     */
    client: { unsafe } as unknown as postgres.Sql,
    firstStatement: {
      onexecute(c: PoolConnection) {
        connection = c;
        c.onclose = () => {
          closedWith ??= connectionClosed();
          for (const statement of issued) {
            // Settled statements ignore this; the others fail, handled or not, without an unhandled rejection.
            // Promise's own `then`: postgres.js's would send a statement that was never sent.
            Promise.prototype.then.call(statement, undefined, ignore);
            statement.reject(closedWith);
          }
        };
        return true;
      },
    } as postgres.UnsafeQueryOptions,
    release() {
      if (connection) connection.onclose = null;
      if (!closed()) conn.release();
    },
  };
}

/** A reserved connection wrapped by closeAware, as transactions use it. */
type CloseAwareConnection = ReturnType<typeof closeAware>;

/**
 * A reserved connection, or CONNECT_TIMEOUT (UNAVAILABLE) after `ms`. postgres.js 3.4.9 can lose a reserve()
 * that is queued while PostgreSQL is unreachable: a reconnecting connection takes the request over and,
 * once connected, never hands itself to it. Unbounded, such a transaction (the job runner's claim, say)
 * would wait for ever after the outage. A connection handed over after the deadline goes straight back.
 */
async function reserveWithin(sql: postgres.Sql, ms: number): Promise<postgres.ReservedSql> {
  const reserving = sql.reserve();
  let timer: NodeJS.Timeout | undefined;
  let late = false;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      late = true;
      reject(Object.assign(new Error(`no database connection within ${ms} ms`), { code: 'CONNECT_TIMEOUT' }));
    }, ms);
  });
  try {
    return await Promise.race([reserving, deadline]);
  } finally {
    clearTimeout(timer);
    if (late) reserving.then((conn) => conn.release()).catch(() => {});
  }
}

const BEGIN: Record<TransactionAccess, string> = { 'read write': 'begin', 'read only': 'begin read only' };

async function openPostgres(url: string, options: DatabaseOptions): Promise<Database> {
  const common = { onnotice: () => {}, connection: { application_name: 'palisade' }, backoff: reconnectBackoff } as const;
  const ownerSql = postgres(url, { ...common, max: 4 });
  const appSql = postgres(options.appUrl ?? url, { ...common, max: options.poolSize ?? 10 });
  const owner = drizzlePostgres(preparing(ownerSql)) as unknown as Tx;
  // Installs Drizzle's type parsers on the pool's options, which reserved connections share.
  drizzlePostgres(appSql);
  const dialect = new PgDialect();
  const onConnection = (client: postgres.Sql, statements: string[] | undefined) =>
    new PostgresJsDatabase(
      dialect,
      new PostgresJsSession(client, dialect, undefined, statements ? { logger: { logQuery: (q) => statements.push(q) } } : {}),
      undefined,
    ) as unknown as Tx;
  let inUse = 0;
  let waiting = 0;
  const release = (conn: CloseAwareConnection) => {
    inUse--;
    conn.release();
  };
  /**
   * Connections whose read-only transaction succeeded during this turn of the event loop, COMMIT not yet sent.
   * The next transaction to start (unless others wait for a connection) takes the most recent one and sends
   * that COMMIT ahead of its own BEGIN, in the same write: one system call and one reply fewer per reading
   * transaction when requests follow each other closely. What is still here when the loop turns is committed
   * then (postgres.js writes it a turn later), so a transaction stays open, its snapshot and locks held, at
   * most a turn of the event loop longer than when its COMMIT was issued at once.
   */
  const finishedReaders: CloseAwareConnection[] = [];
  let commitScheduled = false;
  const commitFinishedReaders = () => {
    commitScheduled = false;
    for (const conn of finishedReaders.splice(0)) {
      conn.unsafe('commit').then(
        () => release(conn),
        () => release(conn),
      );
    }
  };
  const finishReading = (conn: CloseAwareConnection) => {
    finishedReaders.push(conn);
    if (!commitScheduled) {
      commitScheduled = true;
      setImmediate(commitFinishedReaders);
    }
  };
  /**
   * A finished reader's connection that is still open, or undefined; a closed one is left to the pool. None
   * while transactions wait for a connection: they asked first, and get it from the pool when the loop turns.
   */
  const takeFinishedReader = () => {
    if (waiting > 0) return undefined;
    for (let conn = finishedReaders.pop(); conn; conn = finishedReaders.pop()) {
      if (!conn.closed()) return conn;
      release(conn);
    }
    return undefined;
  };
  let observer: TransactionObserver | undefined;
  /**
   * Set when a statement failed because the database could not be reached, cleared when the plain
   * statement below succeeds.
   * postgres.js 3.4.9 keeps a reserve() whose connection attempt failed in its queue, already rejected, and
   * later hands it the next connection that opens, which is then lost to the pool (a plain statement has no
   * such entry). So while the database is known to be unreachable, a transaction first asks with a plain
   * statement, and fails with it, rather than reserving: an outage answers 503 at once and leaves the pool
   * whole for when the database returns.
   */
  let unreachable = false;
  const noteOutcome = (error: unknown) => {
    if (isConnectionLost(error)) unreachable = true;
  };
  const reserveConnection = async () => {
    if (unreachable) {
      await appSql.unsafe('select 1', [], { prepare: true }).catch((error: unknown) => {
        noteOutcome(error);
        throw error;
      });
      unreachable = false;
    }
    return reserveWithin(appSql, options.reserveTimeoutMs ?? 10_000).catch((error: unknown) => {
      noteOutcome(error);
      throw error;
    });
  };
  return {
    kind: 'postgres',
    owner,
    observeTransactions(next) {
      observer = next;
    },
    async transaction(enter, fn, access = 'read write') {
      const started = performance.now();
      let conn = takeFinishedReader();
      if (conn) {
        // Its COMMIT goes ahead of this transaction's BEGIN, in the same write and the same reply.
        conn.nextTransaction();
        conn.unsafe('commit').execute().catch(ignore);
      } else {
        waiting++;
        try {
          conn = closeAware(await reserveConnection());
        } finally {
          waiting--;
        }
        inUse++;
      }
      let finishedReading = false;
      try {
        // Not awaited: postgres.js pipelines these with fn's first query on the
        // reserved connection. If `enter` fails, PostgreSQL aborts the
        // transaction, so no statement of fn runs without a verified context.
        const begin = conn.unsafe(BEGIN[access], [], conn.firstStatement).execute();
        let contextMs = 0;
        const entered = conn
          .unsafe(enter.text, enter.params as never[])
          .execute()
          .then((rows) => {
            contextMs = performance.now() - started;
            return rows;
          });
        begin.catch(() => {});
        entered.catch(() => {});
        const statements = observer ? [] : undefined;
        try {
          const result = await fn(onConnection(conn.client, statements));
          await begin;
          await entered;
          if (access === 'read only') {
            // PostgreSQL refused every write of this transaction, so its COMMIT cannot change the result: the
            // caller has it without waiting. The COMMIT is sent ahead of the next transaction that starts
            // before the event loop turns, or else when it turns (finishReading). The connection stays
            // reserved until the COMMIT is done: released earlier, it could carry another statement into this
            // transaction, with its context.
            finishReading(conn);
            finishedReading = true;
          } else {
            await conn.unsafe('commit');
          }
          observer?.({ contextMs, totalMs: performance.now() - started, statements: statements ?? [] });
          return result;
        } catch (error) {
          noteOutcome(error);
          await conn.unsafe('rollback').catch(() => {});
          // The context error explains a failure better than the aborted statement behind it.
          await begin;
          await entered;
          throw error;
        }
      } finally {
        if (!finishedReading) release(conn);
      }
    },
    async statement(statement) {
      try {
        return (await appSql.unsafe(statement.text, statement.params as never[], { prepare: true })) as unknown as never[];
      } catch (error) {
        noteOutcome(error);
        throw error;
      }
    },
    async ownerQuery(text, params = []) {
      return (await ownerSql.unsafe(text, params as never[])) as unknown as never[];
    },
    async ownerScript(script) {
      await ownerSql.unsafe(script);
    },
    async listen(channel, onNotify) {
      // postgres.js keeps one dedicated connection for LISTEN and re-subscribes after reconnects.
      const subscription = await ownerSql.listen(channel, onNotify);
      return () => subscription.unlisten();
    },
    async withOwnerLock(key, fn) {
      const conn = await ownerSql.reserve();
      try {
        await conn`select pg_advisory_lock(${key})`;
        return await fn();
      } finally {
        await conn`select pg_advisory_unlock(${key})`.catch(() => {});
        conn.release();
      }
    },
    poolStats: () => ({ total: inUse, idle: Math.max(0, (options.poolSize ?? 10) - inUse), waiting }),
    async ready() {
      // The answer lives in the pool's options, which all its connections share.
      await Promise.all([ownerSql.unsafe('select 1'), appSql.unsafe('select 1')]);
      ownerSql.options.fetch_types = false;
      appSql.options.fetch_types = false;
    },
    async close() {
      await Promise.all([ownerSql.end({ timeout: 5 }), appSql.end({ timeout: 5 })]);
    },
  };
}
