import { randomBytes } from 'node:crypto';
import { insertApiKeys, type OwnerSql } from './data.ts';
import { type PlannedRequest, type RequestClient, runPlannedRequests } from './http.ts';
import { must } from './scenarios/context.ts';
import { FIRST_NAMES, LAST_NAMES, PREFIXES, WORDS } from './scenarios/tenant-scale-crm.ts';
import { percentile } from './stats.ts';

/**
 * The mixed workload of mixed_load and pglite_vs_postgres: reads, writes and
 * searches of CRM contacts over REST by many tenants at once, one client
 * (one autocannon instance, one keep-alive connection) per tenant, each with
 * its own tenant's API key, and every response checked for rows of another
 * tenant.
 *
 * Each client repeats the cycle below, starting at its own offset so that all
 * kinds run at every moment: 50 % reads (a contact by id of its tenant's
 * loaded contacts, the contact it created last read back, the first page),
 * 20 % searches (full-text `q=` and `prefix=`, the crm scenarios' terms),
 * 20 % writes (`POST /api/v1/crm/contacts`) and 10 % probes (another
 * tenant's contact by id, which must be 404).
 *
 * The check: every contact in a response is attributed to a tenant, by its id
 * (the loaded contacts' ids come from the database, the created ones from the
 * 201 responses) or, for a contact created by a request whose response was
 * abandoned at a deadline, by its email, which names the tenant that created
 * it (`mx.t<index>.<n>.<run>@mixed.bench.example`). A contact attributed to
 * another tenant, or to none, is a leak; so is a probe answered with 200.
 * Anything else unexpected (a status, a body, a socket error or timeout, a
 * created contact that does not read back) is an error.
 */
export const MIXED_CYCLE = [
  'get',
  'list',
  'create',
  'read_back',
  'search_q',
  'get',
  'search_prefix',
  'create',
  'read_back',
  'probe',
] as const;
type Kind = (typeof MIXED_CYCLE)[number];

/** What each kind of request counts as in the figures. */
export const MIXED_GROUPS: Record<Kind, 'read' | 'search' | 'write' | 'probe'> = {
  get: 'read',
  read_back: 'read',
  list: 'read',
  search_q: 'search',
  search_prefix: 'search',
  create: 'write',
  probe: 'probe',
};

export interface MixedTenant {
  id: string;
  /** The tenant's API key (member, crm:read and crm:write). */
  key: string;
  /** Ids of its contacts as loaded. */
  contactIds: string[];
}

export interface MixedTally {
  responses: number;
  /** Foreign rows seen: contacts of another tenant (or of none of ours) in a response, probes answered 200. */
  leaks: number;
  errors: number;
  /** Contacts in responses whose tenant was compared with the caller's. */
  rowsChecked: number;
  created: number;
  readBack: number;
  /** The first few errors and leaks, for the log. */
  samples: string[];
}

const MARKER = /^mx\.t(\d+)\./;
const emptyTally = (): MixedTally => ({
  responses: 0,
  leaks: 0,
  errors: 0,
  rowsChecked: 0,
  created: 0,
  readBack: 0,
  samples: [],
});

/** API keys for `tenantIds` and the ids of their contacts, read as the owner: the tenants of a mixed workload. */
export async function prepareMixedTenants(owner: OwnerSql, tenantIds: string[]): Promise<MixedTenant[]> {
  const keys = await insertApiKeys(owner, tenantIds, { name: 'mixed load bench', role: 'member', scopes: ['crm:write'] });
  const rows = await owner.query<{ tenant_id: string; id: string }>(
    'select tenant_id, id from app.crm_contacts where tenant_id = any($1::uuid[])',
    [tenantIds],
  );
  const ids = new Map<string, string[]>(tenantIds.map((t) => [t, []]));
  for (const row of rows) ids.get(row.tenant_id)?.push(row.id);
  return tenantIds.map((id) => {
    const contactIds = must(ids.get(id), 'contacts');
    if (contactIds.length === 0) throw new Error(`mixed workload: tenant ${id} has no contacts`);
    return { id, key: must(keys.get(id), 'key'), contactIds };
  });
}

export class MixedWorkload {
  /** Contact id -> index of its tenant, for every contact of our tenants (loaded and created). */
  private readonly ownerOf = new Map<string, number>();
  private readonly run = randomBytes(3).toString('hex');
  private tally = emptyTally();
  private readonly clients: Array<{ step: number; created: string[]; writes: number }>;

  constructor(private readonly tenants: MixedTenant[]) {
    tenants.forEach((t, i) => {
      for (const id of t.contactIds) this.ownerOf.set(id, i);
    });
    this.clients = tenants.map((_, i) => ({ step: i % MIXED_CYCLE.length, created: [], writes: 0 }));
  }

  /** Starts counting afresh (the tallies of a warm-up are dropped); what was created stays known. */
  reset(): MixedTally {
    const previous = this.tally;
    this.tally = emptyTally();
    return previous;
  }

  private problem(kind: 'leak' | 'error', count: number, message: string): void {
    if (kind === 'leak') this.tally.leaks += count;
    else this.tally.errors += count;
    if (this.tally.samples.length < 5) this.tally.samples.push(`${kind}: ${message}`);
  }

  private tenantOf(row: { id?: unknown; email?: unknown }): number | undefined {
    const byId = typeof row.id === 'string' ? this.ownerOf.get(row.id) : undefined;
    if (byId !== undefined) return byId;
    const marker = typeof row.email === 'string' ? MARKER.exec(row.email) : null;
    return marker ? Number(marker[1]) : undefined;
  }

  private parse(kind: Kind, status: number, body: string): unknown {
    this.tally.responses++;
    try {
      return JSON.parse(body);
    } catch {
      this.problem('error', 1, `${kind}: ${status} ${body.slice(0, 200)}`);
      return undefined;
    }
  }

  /** Compares the tenant of every contact of a page with the caller's. */
  private checkPage(caller: number, kind: Kind, status: number, body: string): void {
    const page = this.parse(kind, status, body) as { items?: Array<{ id?: unknown; email?: unknown }> } | undefined;
    if (page === undefined) return;
    if (status !== 200 || !Array.isArray(page.items)) {
      this.problem('error', 1, `${kind}: ${status} ${body.slice(0, 200)}`);
      return;
    }
    for (const row of page.items) {
      this.tally.rowsChecked++;
      const owner = this.tenantOf(row);
      if (owner !== caller)
        this.problem('leak', 1, `${kind} by tenant ${caller} returned ${String(row.id)} of ${owner ?? 'no known tenant'}`);
    }
  }

  /** A contact by id that belongs to the caller: it must come back, and be that one. */
  private checkOwn(caller: number, kind: Kind, id: string, status: number, body: string): void {
    const row = this.parse(kind, status, body) as { id?: unknown; email?: unknown } | undefined;
    if (row === undefined) return;
    if (status === 200) this.tally.rowsChecked++;
    if (status === 200 && row.id === id) {
      if (kind === 'read_back') this.tally.readBack++;
      return;
    }
    const owner = status === 200 ? this.tenantOf(row) : caller;
    if (owner !== caller)
      this.problem('leak', 1, `${kind} ${id} by tenant ${caller} returned a contact of ${owner ?? 'no known tenant'}`);
    else this.problem('error', 1, `${kind} ${id}: ${status} ${body.slice(0, 200)}`);
  }

  /** The client of tenant `index`: one connection, its own key, the cycle from its offset. */
  client(index: number): RequestClient {
    const tenant = must(this.tenants[index], 'tenant');
    const state = must(this.clients[index], 'client state');
    const headers = { 'x-api-key': tenant.key };
    const base = '/api/v1/crm/contacts';
    const next = (): PlannedRequest => {
      const n = state.step++;
      const kind = must(MIXED_CYCLE[n % MIXED_CYCLE.length], 'kind');
      const round = Math.floor(n / MIXED_CYCLE.length);
      const get = (k: Kind, id: string): PlannedRequest => ({
        kind: k,
        method: 'GET',
        path: `${base}/${id}`,
        headers,
        check: (status, body) => this.checkOwn(index, k, id, status, body),
      });
      const page = (k: Kind, query: string): PlannedRequest => ({
        kind: k,
        method: 'GET',
        path: `${base}${query}`,
        headers,
        check: (status, body) => this.checkPage(index, k, status, body),
      });
      switch (kind) {
        case 'get':
          return get(kind, must(tenant.contactIds[(n * 7919) % tenant.contactIds.length], 'contact'));
        case 'read_back': {
          const id = state.created.pop();
          return id ? get(kind, id) : get('get', must(tenant.contactIds[n % tenant.contactIds.length], 'contact'));
        }
        case 'list':
          return page(kind, '');
        case 'search_q':
          return page(kind, `?q=${must(WORDS[round % WORDS.length], 'word')}`);
        case 'search_prefix':
          return page(kind, `?prefix=${must(PREFIXES[round % PREFIXES.length], 'prefix')}`);
        case 'create': {
          const w = state.writes++;
          const name = `${FIRST_NAMES[(index + w) % FIRST_NAMES.length]} ${LAST_NAMES[(index * 7 + w) % LAST_NAMES.length]}`;
          const email = `mx.t${index}.${w}.${this.run}@mixed.bench.example`;
          return {
            kind,
            method: 'POST',
            path: base,
            headers,
            body: JSON.stringify({ name, email, title: 'Mixed load' }),
            check: (status, body) => {
              const row = this.parse(kind, status, body) as { id?: unknown; email?: unknown } | undefined;
              if (row === undefined) return;
              if (status !== 201 || typeof row.id !== 'string' || row.email !== email) {
                this.problem('error', 1, `create: ${status} ${body.slice(0, 200)}`);
                return;
              }
              this.tally.created++;
              this.ownerOf.set(row.id, index);
              state.created.push(row.id);
            },
          };
        }
        case 'probe': {
          // The next tenant's contact, with this tenant's key: must be 404, as if it did not exist.
          const other = must(this.tenants[(index + 1 + (round % (this.tenants.length - 1))) % this.tenants.length], 'tenant');
          const id = must(other.contactIds[n % other.contactIds.length], 'contact');
          return {
            kind,
            method: 'GET',
            path: `${base}/${id}`,
            headers,
            check: (status, body) => {
              this.tally.responses++;
              if (status === 200) this.problem('leak', 1, `probe: tenant ${index} read ${id} of another tenant`);
              else if (status !== 404) this.problem('error', 1, `probe ${id}: ${status} ${body.slice(0, 200)}`);
            },
          };
        }
      }
    };
    return { connections: 1, next };
  }

  /** Every tenant's client, all at once, for `seconds` (at most `maxRequests` in all). */
  async runFor(baseUrl: string, seconds: number, maxRequests: number): Promise<MixedRun> {
    this.reset();
    const run = await runPlannedRequests({
      url: baseUrl,
      clients: this.tenants.map((_, i) => this.client(i)),
      seconds,
      maxRequests,
    });
    const tally = this.reset();
    // No response to check: counted as errors.
    tally.errors += run.socketErrors;
    const all = [...run.latencies.values()].flat();
    const group = (name: string) =>
      [...run.latencies].filter(([kind]) => MIXED_GROUPS[kind as Kind] === name).flatMap(([, values]) => values);
    return {
      tally,
      seconds: run.seconds,
      rate: all.length / run.seconds,
      p50Ms: percentile(all, 50),
      p95Ms: percentile(all, 95),
      p99Ms: percentile(all, 99),
      groups: Object.fromEntries(
        (['read', 'search', 'write', 'probe'] as const).map((g) => {
          const values = group(g);
          return [g, { count: values.length, p95Ms: percentile(values, 95) }];
        }),
      ) as MixedRun['groups'],
    };
  }
}

export interface MixedRun {
  tally: MixedTally;
  seconds: number;
  /** Responses per second, all kinds. */
  rate: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  groups: Record<'read' | 'search' | 'write' | 'probe', { count: number; p95Ms: number }>;
}
