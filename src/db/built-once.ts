import type { Query } from 'drizzle-orm';
import { PgDatabase, PgDialect, type PgPreparedQuery, PgSession, type PreparedQueryConfig } from 'drizzle-orm/pg-core';
import type { Tx } from './client.ts';

/**
 * A Drizzle query whose SQL is built once per process, then run in any transaction with the values of its
 * placeholders (`sql.placeholder('id')`).
 *
 * Drizzle builds a query's text from its expression tree on every execution, and on a get-by-id request
 * that was about a fifth of the server's CPU (docs/benchmarks.md). Its own `.prepare()` builds once, but
 * binds the result to one session, and every tenant transaction has a session of its own. So the query is
 * prepared once on a session that only records what Drizzle hands it (the text, its parameters and how
 * to map the rows), and each call gives that to the calling transaction's session. The statement runs
 * inside that transaction, on its connection, under its role and tenant context, like any other query of
 * it: this saves Drizzle's work, never the database's checks.
 *
 * For queries whose shape is fixed (no optional filters): what varies goes through placeholders.
 */
export function builtOnce<Values extends Record<string, unknown>, Result>(
  build: (db: Tx) => { prepare(name: string): { execute(values?: Values): Promise<Result> } },
): (tx: Tx, values: Values) => Promise<Result> {
  let recorded: RecordedQuery | undefined;
  return (tx, values) => {
    recorded ??= record(build);
    const { query, fields, arrayMode, mapRows, metadata, joinsNotNullableMap } = recorded;
    const prepared = tx._.session.prepareQuery(query, fields, undefined, arrayMode, mapRows, metadata);
    // Which joined tables' columns may be null (left joins): Drizzle sets it after preparing, as done here.
    (prepared as unknown as { joinsNotNullableMap?: unknown }).joinsNotNullableMap = joinsNotNullableMap;
    return prepared.execute(values) as Promise<Result>;
  };
}

type PrepareQuery = PgSession['prepareQuery'];
type PrepareArguments = Parameters<PrepareQuery>;

interface RecordedQuery {
  query: Query;
  fields: PrepareArguments[1];
  arrayMode: boolean;
  mapRows: PrepareArguments[4];
  metadata: PrepareArguments[5];
  joinsNotNullableMap: unknown;
}

/** A session that runs nothing: it keeps what Drizzle's `.prepare()` gives it. */
class RecordingSession extends PgSession {
  last: RecordedQuery | undefined;

  override prepareQuery<T extends PreparedQueryConfig>(...args: PrepareArguments): PgPreparedQuery<T> {
    const [query, fields, , arrayMode, mapRows, metadata] = args;
    const recorded: RecordedQuery = { query, fields, arrayMode, mapRows, metadata, joinsNotNullableMap: undefined };
    this.last = recorded;
    // What `.prepare()` does with the prepared query before returning it.
    const stub = {
      set joinsNotNullableMap(value: unknown) {
        recorded.joinsNotNullableMap = value;
      },
      setToken: () => stub,
    };
    return stub as unknown as PgPreparedQuery<T>;
  }

  override transaction(): Promise<never> {
    throw new Error('a recorded query opens no transaction');
  }
}

const dialect = new PgDialect();

function record(build: (db: Tx) => { prepare(name: string): unknown }): RecordedQuery {
  const session = new RecordingSession(dialect);
  build(new PgDatabase(dialect, session, undefined) as unknown as Tx).prepare('recorded');
  if (!session.last) throw new Error('builtOnce: the query was not prepared');
  return session.last;
}
