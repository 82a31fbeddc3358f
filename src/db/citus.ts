import { is } from 'drizzle-orm';
import { getTableConfig, IndexedColumn, PgTable } from 'drizzle-orm/pg-core';
import * as schema from './schema.ts';

/**
 * `palisade citus-ddl`: the statements that shard Palisade on Citus, derived
 * from the Drizzle schema objects so that a new table is placed without
 * anyone editing a list. The model (docs/operations.md, "Sharding on Citus"):
 *
 * - every table with a `tenant_id` column is distributed by it, all in one
 *   colocation group, so a tenant's rows of every table live on the same node
 *   and joins and foreign keys on tenant_id stay on that node;
 * - every table without `tenant_id` (tenants, auth.*) is a reference table:
 *   a full copy on every node, so distributed tables can reference and join it;
 * - the few deliberate exceptions below are listed with their reasons.
 *
 * The generator refuses (CitusSchemaError) a schema that Citus would reject:
 * a distributed table whose primary key, unique keys or foreign keys do not
 * carry tenant_id, or a foreign key Citus cannot enforce across nodes.
 */

export const DISTRIBUTION_COLUMN = 'tenant_id';

export type Placement = 'distributed' | 'reference' | 'local';

/**
 * Global tables that carry a tenant_id column yet are not distributed by it.
 * `local` keeps the table on the coordinator, registered with Citus so that it
 * keeps its foreign key to the reference table app.tenants.
 */
export const GLOBAL_TABLES_WITH_TENANT_ID: Record<string, { placement: Exclude<Placement, 'distributed'>; reason: string }> = {
  'app.jobs': {
    placement: 'local',
    reason:
      'job queue of ids across tenants, claimed with FOR UPDATE SKIP LOCKED on one node; ' +
      'a row per event, too hot to copy to every node as a reference table',
  },
};

/**
 * Unique keys of distributed tables that do not include tenant_id. Citus
 * cannot enforce uniqueness across shards, so the DDL replaces each by a plain
 * index on the same columns; the value stays unique by construction.
 * Keys are `schema.table.key_name`.
 */
export const UNIQUE_KEYS_WITHOUT_TENANT_ID: Record<string, string> = {
  'app.api_keys.api_keys_secret_hash_key':
    'SHA-256 of a random secret the server generates; looked up before the tenant is known (app.resolve_api_key)',
  'app.invitations.invitations_token_key':
    'SHA-256 of a 256-bit random token; looked up before the tenant is known (app.respond_to_invitation)',
  'app.ai_widgets.ai_widgets_publishable_key_key':
    'random publishable key (pk_live_ + 32 base62) the server generates; looked up before the tenant is known (app.resolve_widget)',
};

const FORBIDDEN_ON_DISTRIBUTION_KEY = new Set(['set null', 'set default']);

export interface UniqueKeyFacts {
  name: string;
  kind: 'index' | 'constraint';
  /** Plain key columns; expression elements are counted in `expressions`. */
  columns: string[];
  expressions: number;
  partial: boolean;
}

export interface ForeignKeyFacts {
  name: string;
  columns: string[];
  foreignTable: string;
  foreignColumns: string[];
  onDelete: string;
  onUpdate: string;
}

export interface TableFacts {
  /** `schema.table` */
  name: string;
  schema: string;
  table: string;
  /** The tenant_id column's SQL type and nullability, when there is one. */
  tenantId: { type: string; notNull: boolean } | undefined;
  primaryKey: string[];
  uniqueKeys: UniqueKeyFacts[];
  /** Every index name of the table, unique or not. */
  indexNames: string[];
  foreignKeys: ForeignKeyFacts[];
}

const qualifiedName = (table: PgTable) => {
  const config = getTableConfig(table);
  return `${config.schema ?? 'public'}.${config.name}`;
};

/** Every table object exported by src/db/schema.ts, once each. */
export function schemaTables(): PgTable[] {
  const seen = new Set<PgTable>();
  for (const value of Object.values(schema)) if (is(value, PgTable)) seen.add(value);
  return [...seen];
}

/** What Citus cares about in one table, read from its Drizzle definition. */
export function tableFacts(table: PgTable): TableFacts {
  const config = getTableConfig(table);
  const tenantColumn = config.columns.find((c) => c.name === DISTRIBUTION_COLUMN);
  const composite = config.primaryKeys[0];
  const primaryKey = composite
    ? composite.columns.map((c) => c.name)
    : config.columns.filter((c) => c.primary).map((c) => c.name);
  const indexNames: string[] = [];
  const uniqueKeys: UniqueKeyFacts[] = [];
  for (const index of config.indexes) {
    const elements = index.config.columns;
    const columns = elements.filter((e): e is IndexedColumn => is(e, IndexedColumn)).flatMap((e) => (e.name ? [e.name] : []));
    const name = index.config.name ?? `${config.name}_${columns.join('_')}_index`;
    indexNames.push(name);
    if (!index.config.unique) continue;
    uniqueKeys.push({
      name,
      kind: 'index',
      columns,
      expressions: elements.length - columns.length,
      partial: index.config.where !== undefined,
    });
  }
  for (const unique of config.uniqueConstraints) {
    const columns = unique.columns.map((c) => c.name);
    uniqueKeys.push({
      name: unique.getName() ?? `${config.name}_${columns.join('_')}_unique`,
      kind: 'constraint',
      columns,
      expressions: 0,
      partial: false,
    });
  }
  for (const column of config.columns) {
    if (!column.isUnique) continue;
    uniqueKeys.push({
      name: column.uniqueName ?? `${config.name}_${column.name}_unique`,
      kind: 'constraint',
      columns: [column.name],
      expressions: 0,
      partial: false,
    });
  }
  const foreignKeys = config.foreignKeys.map((fk) => {
    const reference = fk.reference();
    return {
      name: fk.getName(),
      columns: reference.columns.map((c) => c.name),
      foreignTable: qualifiedName(reference.foreignTable),
      foreignColumns: reference.foreignColumns.map((c) => c.name),
      onDelete: fk.onDelete ?? 'no action',
      onUpdate: fk.onUpdate ?? 'no action',
    };
  });
  return {
    name: `${config.schema ?? 'public'}.${config.name}`,
    schema: config.schema ?? 'public',
    table: config.name,
    tenantId: tenantColumn ? { type: tenantColumn.getSQLType(), notNull: tenantColumn.notNull } : undefined,
    primaryKey,
    uniqueKeys,
    indexNames,
    foreignKeys,
  };
}

/** Distributed if it has tenant_id and is not a reviewed exception; reference if it has none. */
export function placementOf(facts: TableFacts): Placement {
  const exception = GLOBAL_TABLES_WITH_TENANT_ID[facts.name];
  if (exception) return exception.placement;
  return facts.tenantId ? 'distributed' : 'reference';
}

export class CitusSchemaError extends Error {
  constructor(readonly problems: string[]) {
    super(`The schema cannot be distributed on Citus:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'CitusSchemaError';
  }
}

export interface ReplacedUniqueKey {
  table: TableFacts;
  key: UniqueKeyFacts;
  replacement: string;
  reason: string;
}

export interface CitusPlan {
  /** Parents before children within each group. */
  reference: TableFacts[];
  distributed: TableFacts[];
  local: TableFacts[];
  replacedUniqueKeys: ReplacedUniqueKey[];
}

/** `api_keys_secret_hash_key` -> `api_keys_secret_hash_idx`. */
const replacementIndexName = (name: string) => `${name.replace(/_(key|unique)$/, '')}_idx`;

/** Every reason Citus would refuse this schema (or part of it), as sentences. */
export function citusProblems(all: TableFacts[]): string[] {
  const problems: string[] = [];
  const byName = new Map(all.map((t) => [t.name, t]));
  const placement = new Map(all.map((t) => [t.name, placementOf(t)]));

  for (const [name, exception] of Object.entries(GLOBAL_TABLES_WITH_TENANT_ID)) {
    const table = byName.get(name);
    if (!table) problems.push(`${name}: listed in GLOBAL_TABLES_WITH_TENANT_ID but not in the schema`);
    else if (!table.tenantId)
      problems.push(`${name}: listed in GLOBAL_TABLES_WITH_TENANT_ID (${exception.placement}) but has no tenant_id`);
  }
  const listedKeys = new Set(Object.keys(UNIQUE_KEYS_WITHOUT_TENANT_ID));

  for (const table of all) {
    const kind = placement.get(table.name);
    if (kind === 'distributed') {
      if (table.tenantId?.type !== 'uuid' || !table.tenantId.notNull) {
        problems.push(
          `${table.name}: tenant_id must be uuid not null (every colocated table needs the same distribution column type)`,
        );
      }
      if (!table.primaryKey.includes(DISTRIBUTION_COLUMN)) {
        problems.push(
          `${table.name}: primary key (${table.primaryKey.join(', ') || 'none'}) does not include tenant_id; ` +
            'declare the table with tenantTable(), or list it in GLOBAL_TABLES_WITH_TENANT_ID with a reason',
        );
      }
      for (const key of table.uniqueKeys) {
        const id = `${table.name}.${key.name}`;
        if (key.columns.includes(DISTRIBUTION_COLUMN)) {
          if (listedKeys.has(id))
            problems.push(`${id}: listed in UNIQUE_KEYS_WITHOUT_TENANT_ID but includes tenant_id; remove it from the list`);
          listedKeys.delete(id);
          continue;
        }
        if (!listedKeys.has(id)) {
          problems.push(
            `${id}: unique key without tenant_id; lead it with tenant_id, or list it in UNIQUE_KEYS_WITHOUT_TENANT_ID with a reason`,
          );
          continue;
        }
        listedKeys.delete(id);
        if (key.expressions > 0 || key.partial)
          problems.push(`${id}: only plain-column unique keys can be replaced by a plain index`);
        if (table.indexNames.includes(replacementIndexName(key.name))) {
          problems.push(`${id}: its replacement index name ${replacementIndexName(key.name)} is taken`);
        }
      }
    }

    for (const fk of table.foreignKeys) {
      const target = placement.get(fk.foreignTable);
      const where = `${table.name}: foreign key ${fk.name} to ${fk.foreignTable}`;
      if (!target) {
        problems.push(`${where}: the referenced table is not in the schema`);
        continue;
      }
      const onTenantId = fk.columns.includes(DISTRIBUTION_COLUMN);
      const actions = [fk.onDelete, fk.onUpdate];
      if (kind === 'distributed' && target === 'distributed') {
        const position = fk.columns.indexOf(DISTRIBUTION_COLUMN);
        if (position < 0 || fk.foreignColumns[position] !== DISTRIBUTION_COLUMN) {
          problems.push(
            `${where}: does not pair tenant_id with tenant_id (colocated foreign keys must include the distribution column)`,
          );
        }
        if (actions.some((a) => FORBIDDEN_ON_DISTRIBUTION_KEY.has(a)) || fk.onUpdate === 'cascade') {
          problems.push(`${where}: SET NULL, SET DEFAULT and ON UPDATE CASCADE are not supported between distributed tables`);
        }
      } else if (kind === 'distributed' && target === 'reference') {
        if (onTenantId && (actions.some((a) => FORBIDDEN_ON_DISTRIBUTION_KEY.has(a)) || fk.onUpdate === 'cascade')) {
          problems.push(`${where}: SET NULL, SET DEFAULT and ON UPDATE CASCADE are not supported on the distribution column`);
        }
      } else if (kind === 'distributed' && target === 'local') {
        problems.push(`${where}: a distributed table cannot reference a table that stays on the coordinator`);
      } else if (kind !== 'distributed' && target === 'distributed') {
        problems.push(`${where}: a ${kind} table cannot reference a distributed table`);
      } else if (kind === 'reference' && target === 'local' && !['no action', 'restrict'].includes(fk.onDelete)) {
        problems.push(`${where}: a reference table may reference a coordinator table only with NO ACTION or RESTRICT`);
      }
    }
  }
  for (const id of listedKeys)
    problems.push(`${id}: listed in UNIQUE_KEYS_WITHOUT_TENANT_ID but not found on a distributed table`);
  return problems;
}

/** Parents before children along foreign keys inside the group; ties by name, so the output is stable. */
function dependencyOrder(group: TableFacts[], problems: string[]): TableFacts[] {
  const names = new Set(group.map((t) => t.name));
  const parents = new Map(
    group.map((t) => [t.name, new Set(t.foreignKeys.map((fk) => fk.foreignTable).filter((f) => f !== t.name && names.has(f)))]),
  );
  const ordered: TableFacts[] = [];
  const remaining = [...group].sort((a, b) => a.name.localeCompare(b.name));
  while (remaining.length > 0) {
    const index = remaining.findIndex((t) => [...(parents.get(t.name) ?? [])].every((p) => ordered.some((o) => o.name === p)));
    if (index < 0) {
      problems.push(`foreign keys form a cycle between ${remaining.map((t) => t.name).join(', ')}`);
      return [...ordered, ...remaining];
    }
    ordered.push(...remaining.splice(index, 1));
  }
  return ordered;
}

/** Places every table and orders the statements; throws CitusSchemaError if Citus would refuse any. */
export function planCitus(tables: PgTable[] = schemaTables()): CitusPlan {
  const all = tables.map(tableFacts);
  const problems = citusProblems(all);
  const group = (p: Placement) =>
    dependencyOrder(
      all.filter((t) => placementOf(t) === p),
      problems,
    );
  const plan: CitusPlan = {
    reference: group('reference'),
    distributed: group('distributed'),
    local: group('local'),
    replacedUniqueKeys: [],
  };
  if (problems.length > 0) throw new CitusSchemaError(problems);
  for (const table of plan.distributed) {
    for (const key of table.uniqueKeys) {
      const reason = UNIQUE_KEYS_WITHOUT_TENANT_ID[`${table.name}.${key.name}`];
      if (reason) plan.replacedUniqueKeys.push({ table, key, replacement: replacementIndexName(key.name), reason });
    }
  }
  return plan;
}

const identifier = (name: string) => (/^[a-z_][a-z0-9_]*$/.test(name) ? name : `"${name.replaceAll('"', '""')}"`);
const relation = (t: TableFacts) => `${identifier(t.schema)}.${identifier(t.table)}`;
const literal = (text: string) => `'${text.replaceAll("'", "''")}'`;

/** The SQL text printed by `palisade citus-ddl`. Pure: reads only the schema objects. */
export function citusDdl(tables: PgTable[] = schemaTables()): string {
  const plan = planCitus(tables);
  const [anchor] = plan.distributed;
  const lines: string[] = [
    '-- Palisade on Citus: generated by `palisade citus-ddl` from the Drizzle schema (src/db/schema.ts).',
    '-- Read docs/operations.md, "Sharding on Citus", before running it. In short: on a freshly migrated',
    '-- database (`npx palisade migrate`), as the owner, on the coordinator, after',
    '--   CREATE EXTENSION citus;',
    "--   SELECT citus_set_coordinator_host('<coordinator host>', 5432);",
    "--   SELECT citus_add_node('<worker host>', 5432);  -- for each worker",
    '-- run: psql -v ON_ERROR_STOP=1 -f citus.sql',
    '',
    `-- 1. Unique keys without tenant_id cannot be enforced across shards (${plan.replacedUniqueKeys.length}).`,
    '--    Each becomes a plain index; the value stays unique by construction.',
  ];
  for (const { table, key, replacement, reason } of plan.replacedUniqueKeys) {
    lines.push(`-- ${table.name}.${key.name}: ${reason}`);
    lines.push(
      key.kind === 'index'
        ? `DROP INDEX IF EXISTS ${identifier(table.schema)}.${identifier(key.name)};`
        : `ALTER TABLE ${relation(table)} DROP CONSTRAINT IF EXISTS ${identifier(key.name)};`,
    );
    lines.push(
      `CREATE INDEX IF NOT EXISTS ${identifier(replacement)} ON ${relation(table)} (${key.columns.map(identifier).join(', ')});`,
    );
  }
  lines.push('', `-- 2. Reference tables: global tables, a full copy on every node (${plan.reference.length}).`);
  for (const table of plan.reference) lines.push(`SELECT create_reference_table(${literal(relation(table))});`);
  lines.push(
    '',
    `-- 3. Distributed tables: sharded by tenant_id, all colocated with ${anchor ? relation(anchor) : '(none)'}; parents before children (${plan.distributed.length}).`,
  );
  for (const table of plan.distributed) {
    const colocateWith = table === anchor ? 'default' : relation(anchor as TableFacts);
    lines.push(
      `SELECT create_distributed_table(${literal(relation(table))}, ${literal(DISTRIBUTION_COLUMN)}, colocate_with => ${literal(colocateWith)});`,
    );
  }
  lines.push('', `-- 4. Global tables kept on the coordinator, registered with Citus (${plan.local.length}).`);
  for (const table of plan.local) {
    lines.push(`-- ${table.name}: ${GLOBAL_TABLES_WITH_TENANT_ID[table.name]?.reason ?? 'reviewed global table'}`);
    lines.push(`SELECT citus_add_local_table_to_metadata(${literal(relation(table))});`);
  }
  return `${lines.join('\n')}\n`;
}
