import { type SQL, sql } from 'drizzle-orm';

/**
 * An integer written into the statement text, for the few places where
 * PostgreSQL accepts no parameter but the planner must see the value: type
 * modifiers (`vector(1536)`) and the predicate of a partial index it should
 * match. Anything but a safe integer is refused, so nothing else can be
 * spliced into SQL this way; every other value is a bound parameter.
 */
export function integerLiteral(value: number): SQL {
  if (!Number.isSafeInteger(value)) throw new TypeError(`not a safe integer: ${value}`);
  return sql.raw(String(value));
}
