import { createHash } from 'node:crypto';

export interface SlowQuery {
  at: string;
  requestId: string | null;
  tenantId: string | null;
  procedure: string | null;
  durationMs: number;
  /** Identifies the statement shape: the same query with other values has the same fingerprint. */
  fingerprint: string;
  /** The statements as sent, with `$1` placeholders: parameter values are never kept. */
  statements: string[];
}

/**
 * Normalises a statement to its shape: literals that a hand-written query
 * might carry inline become `?`, whitespace collapses. Drizzle already sends
 * values as parameters; this is the second line of defence.
 */
export function normaliseStatement(text: string): string {
  return text
    .replace(/'(?:[^']|'')*'/g, '?')
    .replace(/(?<![$\w])\d+(?:\.\d+)?\b/g, '?')
    .replace(/\s+/g, ' ')
    .trim();
}

export function fingerprintOf(statements: readonly string[]): string {
  return createHash('sha256').update(statements.map(normaliseStatement).join(';')).digest('hex').slice(0, 16);
}

/** The most recent slow transactions of this process (a bounded ring). */
export class SlowQueryLog {
  private readonly entries: SlowQuery[] = [];

  constructor(
    readonly thresholdMs: number,
    private readonly capacity = 1000,
  ) {}

  record(entry: Omit<SlowQuery, 'fingerprint' | 'statements' | 'at'> & { statements: readonly string[] }): SlowQuery | null {
    if (entry.durationMs < this.thresholdMs) return null;
    const recorded: SlowQuery = {
      ...entry,
      at: new Date().toISOString(),
      durationMs: Math.round(entry.durationMs * 10) / 10,
      fingerprint: fingerprintOf(entry.statements),
      statements: entry.statements.map(normaliseStatement),
    };
    this.entries.push(recorded);
    if (this.entries.length > this.capacity) this.entries.shift();
    return recorded;
  }

  /** Newest first; one tenant's entries, or all for platform admins. */
  list(limit: number, tenantId?: string): SlowQuery[] {
    const out: SlowQuery[] = [];
    for (let i = this.entries.length - 1; i >= 0 && out.length < limit; i--) {
      const entry = this.entries[i] as SlowQuery;
      if (tenantId === undefined || entry.tenantId === tenantId) out.push(entry);
    }
    return out;
  }
}
