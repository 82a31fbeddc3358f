import type postgres from 'postgres';

/**
 * The floors' copy of what Palisade's database handle does with a read-only transaction's COMMIT
 * (src/db/client.ts): not waited for, and sent ahead of the BEGIN of the next transaction that starts
 * before the event loop turns, which takes the connection; otherwise sent when the loop turns. A connection
 * goes back to the pool only once its COMMIT is done. (Palisade also lets a transaction that waits for a
 * connection go first; the floors' pools never run out.) Without it the floors would do more work per
 * transaction than Palisade and stop being floors.
 */
export function finishedReaders(sql: postgres.Sql) {
  const finished: postgres.ReservedSql[] = [];
  let scheduled = false;
  const commitAll = () => {
    scheduled = false;
    for (const conn of finished.splice(0)) {
      const release = () => conn.release();
      conn.unsafe('commit').then(release, release);
    }
  };
  return {
    /** A connection for a new transaction: a finished reader's, its COMMIT queued first, or one from the pool. */
    take(): Promise<postgres.ReservedSql> {
      const conn = finished.pop();
      if (!conn) return sql.reserve();
      conn
        .unsafe('commit')
        .execute()
        .catch(() => {});
      return Promise.resolve(conn);
    },
    /** The read-only transaction on `conn` succeeded: commit it with the next transaction, or when the loop turns. */
    finish(conn: postgres.ReservedSql): void {
      finished.push(conn);
      if (!scheduled) {
        scheduled = true;
        setImmediate(commitAll);
      }
    },
  };
}
