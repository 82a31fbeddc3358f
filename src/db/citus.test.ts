import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { is } from 'drizzle-orm';
import { foreignKey, getTableConfig, IndexedColumn, PgTable, pgSchema, text, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { describe, expect, it } from 'vitest';
import { webhookEndpoints } from '../modules/webhooks/schema.ts';
import {
  CitusSchemaError,
  citusDdl,
  DISTRIBUTION_COLUMN,
  GLOBAL_TABLES_WITH_TENANT_ID,
  schemaTables,
  UNIQUE_KEYS_WITHOUT_TENANT_ID,
} from './citus.ts';
import * as schema from './schema.ts';
import { tenants, tenantTable } from './tenant-table.ts';

/**
 * No Citus runs here: these tests check the generated SQL text against facts
 * read from the Drizzle schema objects, and the schema against the conditions
 * Citus sets for that SQL to be accepted (distribution column in every primary
 * key, unique key and colocated foreign key).
 */

// Read independently of citus.ts: every table object that src/db/schema.ts exports.
const exported: unknown[] = Object.values(schema);
const tables = [...new Set(exported.filter((v): v is PgTable => is(v, PgTable)))];
const config = (t: PgTable) => getTableConfig(t);
const nameOf = (t: PgTable) => `${config(t).schema ?? 'public'}.${config(t).name}`;
const hasTenantId = (t: PgTable) => config(t).columns.some((c) => c.name === DISTRIBUTION_COLUMN);

const withTenantId = tables.filter(hasTenantId).map(nameOf).sort();
const withoutTenantId = tables
  .filter((t) => !hasTenantId(t))
  .map(nameOf)
  .sort();
const distributedNames = withTenantId.filter((n) => !(n in GLOBAL_TABLES_WITH_TENANT_ID));
const distributedTables = tables.filter((t) => distributedNames.includes(nameOf(t)));

const ddl = citusDdl();
const statements = ddl.split('\n').filter((line) => line.trim() !== '' && !line.startsWith('--'));
const matches = (pattern: RegExp) => statements.flatMap((s, index) => [...s.matchAll(pattern)].map((m) => ({ m, index })));
const distributed = matches(/^SELECT create_distributed_table\('([^']+)', 'tenant_id', colocate_with => '([^']+)'\);$/g).map(
  ({ m, index }) => ({ table: m[1] as string, colocateWith: m[2] as string, index }),
);
const reference = matches(/^SELECT create_reference_table\('([^']+)'\);$/g).map(({ m, index }) => ({
  table: m[1] as string,
  index,
}));
const local = matches(/^SELECT citus_add_local_table_to_metadata\('([^']+)'\);$/g).map(({ m, index }) => ({
  table: m[1] as string,
  index,
}));
const positionOf = (table: string) =>
  [...distributed, ...reference, ...local].find((s) => s.table === table)?.index ?? Number.POSITIVE_INFINITY;

const primaryKeyOf = (t: PgTable) => {
  const c = config(t);
  return c.primaryKeys[0]?.columns.map((col) => col.name) ?? c.columns.filter((col) => col.primary).map((col) => col.name);
};

/** Unique indexes and unique constraints, with their plain key columns (expression elements do not count for Citus). */
const uniqueKeysOf = (t: PgTable) => {
  const c = config(t);
  return [
    ...c.indexes
      .filter((i) => i.config.unique)
      .map((i) => ({
        name: i.config.name ?? '(unnamed)',
        columns: i.config.columns.filter((e): e is IndexedColumn => is(e, IndexedColumn)).map((e) => e.name),
      })),
    ...c.uniqueConstraints.map((u) => ({ name: u.getName(), columns: u.columns.map((col) => col.name) })),
    ...c.columns.filter((col) => col.isUnique).map((col) => ({ name: col.uniqueName ?? col.name, columns: [col.name] })),
  ];
};

const foreignKeysOf = (t: PgTable) =>
  config(t).foreignKeys.map((fk) => {
    const ref = fk.reference();
    return {
      name: fk.getName(),
      from: nameOf(t),
      to: nameOf(ref.foreignTable),
      columns: ref.columns.map((col) => col.name),
      foreignColumns: ref.foreignColumns.map((col) => col.name),
      onDelete: fk.onDelete ?? 'no action',
      onUpdate: fk.onUpdate ?? 'no action',
    };
  });

describe('citus-ddl output', () => {
  it('reads the schema it is meant to read', () => {
    // Guards against a check that passes because it matched nothing.
    expect(withTenantId).toEqual(
      expect.arrayContaining(['app.memberships', 'app.invitations', 'app.api_keys', 'app.audit_log', 'app.events', 'app.jobs']),
    );
    expect(withoutTenantId).toEqual(expect.arrayContaining(['app.tenants', 'auth.users', 'auth.sessions']));
    expect(schemaTables().map(nameOf).sort()).toEqual(tables.map(nameOf).sort());
  });

  it('distributes every table that has a tenant_id column, except the reviewed global ones', () => {
    expect(distributed.map((d) => d.table).sort()).toEqual(distributedNames);
    for (const [name, exception] of Object.entries(GLOBAL_TABLES_WITH_TENANT_ID)) {
      expect(withTenantId, `${name} is listed as a global table with tenant_id`).toContain(name);
      expect(exception.reason.length).toBeGreaterThan(20);
    }
  });

  it('makes every table without tenant_id a reference table, and keeps the reviewed ones on the coordinator', () => {
    const reviewed = (placement: string) =>
      Object.entries(GLOBAL_TABLES_WITH_TENANT_ID)
        .filter(([, e]) => e.placement === placement)
        .map(([n]) => n);
    expect(reference.map((r) => r.table).sort()).toEqual([...withoutTenantId, ...reviewed('reference')].sort());
    expect(local.map((l) => l.table).sort()).toEqual(reviewed('local').sort());
    expect(reference.map((r) => r.table)).toEqual(expect.arrayContaining(['app.tenants', 'auth.users']));
  });

  it('names every table exactly once', () => {
    const named = [...distributed, ...reference, ...local].map((s) => s.table);
    expect(named.sort()).toEqual(tables.map(nameOf).sort());
    expect(new Set(named).size).toBe(named.length);
  });

  it('colocates every distributed table with the first one', () => {
    const [first, ...rest] = distributed;
    expect(first?.colocateWith).toBe('default');
    for (const d of rest) expect(d.colocateWith, d.table).toBe(first?.table);
  });

  it('creates reference tables first, then distributed tables with every referenced table before its referencing one', () => {
    const lastReference = Math.max(...reference.map((r) => r.index));
    for (const d of distributed) expect(d.index, d.table).toBeGreaterThan(lastReference);
    for (const fk of tables.flatMap(foreignKeysOf)) {
      if (fk.from === fk.to) continue;
      expect(positionOf(fk.to), `${fk.to} before ${fk.from} (${fk.name})`).toBeLessThan(positionOf(fk.from));
    }
  });

  it('replaces each unique key without tenant_id before its table is distributed', () => {
    for (const id of Object.keys(UNIQUE_KEYS_WITHOUT_TENANT_ID)) {
      const [schemaName, table, key] = id.split('.') as [string, string, string];
      const drop = statements.indexOf(`DROP INDEX IF EXISTS ${schemaName}.${key};`);
      const create = statements.findIndex(
        (s) => s.startsWith('CREATE INDEX IF NOT EXISTS ') && s.includes(` ON ${schemaName}.${table} (`),
      );
      expect(drop, `drop ${id}`).toBeGreaterThanOrEqual(0);
      expect(create, `replacement of ${id}`).toBeGreaterThan(drop);
      expect(create).toBeLessThan(positionOf(`${schemaName}.${table}`));
      // The replacement indexes the same columns, so the lookups it served stay indexed.
      const columns = uniqueKeysOf(tables.find((t) => nameOf(t) === `${schemaName}.${table}`) as PgTable).find(
        (k) => k.name === key,
      )?.columns;
      expect(statements[create]).toContain(`(${columns?.join(', ')});`);
    }
  });

  it('needs no database: the CLI prints the same text with an unreachable DATABASE_URL', async () => {
    const bin = fileURLToPath(new URL('../../bin/palisade.js', import.meta.url));
    const { stdout } = await promisify(execFile)(process.execPath, [bin, 'citus-ddl'], {
      env: { ...process.env, DATABASE_URL: 'postgres://nobody@127.0.0.1:1/unreachable', REDIS_URL: '' },
      timeout: 45_000,
    });
    expect(stdout).toBe(ddl);
  });
});

describe('the schema satisfies what Citus requires of that DDL', () => {
  it('every distributed table has tenant_id uuid not null, in its primary key', () => {
    expect(distributedTables.length).toBeGreaterThanOrEqual(8);
    for (const table of distributedTables) {
      const column = config(table).columns.find((c) => c.name === DISTRIBUTION_COLUMN);
      expect(column?.getSQLType(), nameOf(table)).toBe('uuid');
      expect(column?.notNull, nameOf(table)).toBe(true);
      // Citus needs tenant_id in the key; tenantTable() also puts it first.
      expect(primaryKeyOf(table)[0], `${nameOf(table)} primary key`).toBe(DISTRIBUTION_COLUMN);
    }
  });

  it('every unique key of a distributed table includes tenant_id, except the listed ones', () => {
    const without = distributedTables.flatMap((t) =>
      uniqueKeysOf(t)
        .filter((k) => !k.columns.includes(DISTRIBUTION_COLUMN))
        .map((k) => `${nameOf(t)}.${k.name}`),
    );
    // Both ways: no unlisted violation, and no stale entry on the list.
    expect(without.sort()).toEqual(Object.keys(UNIQUE_KEYS_WITHOUT_TENANT_ID).sort());
    const withTenant = distributedTables.flatMap((t) => uniqueKeysOf(t).filter((k) => k.columns.includes(DISTRIBUTION_COLUMN)));
    expect(withTenant.length).toBeGreaterThanOrEqual(2);
  });

  it('every foreign key between distributed tables pairs tenant_id with tenant_id, with actions Citus supports', () => {
    const between = distributedTables.flatMap(foreignKeysOf).filter((fk) => distributedNames.includes(fk.to));
    expect(between.length).toBeGreaterThanOrEqual(2);
    for (const fk of between) {
      const position = fk.columns.indexOf(DISTRIBUTION_COLUMN);
      expect(position, `${fk.from}.${fk.name}`).toBeGreaterThanOrEqual(0);
      expect(fk.foreignColumns[position], `${fk.from}.${fk.name}`).toBe(DISTRIBUTION_COLUMN);
      expect(['set null', 'set default']).not.toContain(fk.onDelete);
      expect(['set null', 'set default', 'cascade']).not.toContain(fk.onUpdate);
    }
  });

  it('distributed tables reference only distributed or reference tables, and never null their tenant_id', () => {
    const referenceNames = reference.map((r) => r.table);
    for (const fk of distributedTables.flatMap(foreignKeysOf)) {
      expect([...distributedNames, ...referenceNames], `${fk.from}.${fk.name}`).toContain(fk.to);
      if (fk.columns.includes(DISTRIBUTION_COLUMN)) expect(['set null', 'set default']).not.toContain(fk.onDelete);
    }
    // Every tenant table references the tenant, a reference table.
    for (const table of distributedTables) {
      expect(
        foreignKeysOf(table).some((fk) => fk.to === 'app.tenants' && fk.columns.join() === DISTRIBUTION_COLUMN),
        nameOf(table),
      ).toBe(true);
    }
  });

  it('no reference or coordinator table references a distributed table', () => {
    const others = tables.filter((t) => !distributedNames.includes(nameOf(t)));
    for (const fk of others.flatMap(foreignKeysOf)) expect(distributedNames, `${fk.from}.${fk.name}`).not.toContain(fk.to);
  });
});

describe('the generator follows the schema', () => {
  const appSchema = pgSchema('app');

  it('places a new tenant table without being told', () => {
    const widgets = tenantTable(
      'zz_widgets',
      { id: uuid('id').notNull().defaultRandom(), endpointId: uuid('endpoint_id').notNull(), name: text('name').notNull() },
      {
        key: ['id'],
        extra: (t) => [
          uniqueIndex('zz_widgets_name_key').on(t.tenantId, t.name),
          foreignKey({
            name: 'zz_widgets_endpoint_fk',
            columns: [t.tenantId, t.endpointId],
            foreignColumns: [webhookEndpoints.tenantId, webhookEndpoints.id],
          }),
        ],
      },
    );
    const lines = citusDdl([...schemaTables(), widgets]).split('\n');
    const widget = lines.findIndex((l) => l.startsWith("SELECT create_distributed_table('app.zz_widgets', 'tenant_id'"));
    const endpoints = lines.findIndex((l) => l.startsWith("SELECT create_distributed_table('app.webhook_endpoints'"));
    expect(widget).toBeGreaterThan(endpoints);
    expect(endpoints).toBeGreaterThan(0);
  });

  it('refuses tables Citus would reject, naming each problem', () => {
    const badChild = tenantTable(
      'zz_bad_child',
      { id: uuid('id').notNull(), code: text('code').notNull(), endpointId: uuid('endpoint_id') },
      {
        key: ['id'],
        extra: (t) => [
          uniqueIndex('zz_bad_child_code_key').on(t.code),
          foreignKey({ name: 'zz_bad_child_endpoint_fk', columns: [t.endpointId], foreignColumns: [webhookEndpoints.id] }),
        ],
      },
    );
    // tenant_id, but keyed by id alone and not on the reviewed list.
    const badQueue = appSchema.table('zz_bad_queue', {
      id: uuid('id').primaryKey(),
      tenantId: uuid('tenant_id')
        .notNull()
        .references(() => tenants.id),
    });
    // A control: a plain global table is simply a reference table.
    const plainGlobal = appSchema.table('zz_plain_global', { id: uuid('id').primaryKey(), note: text('note') });
    // A global table pointing into tenant data.
    const badGlobalFk = appSchema.table(
      'zz_bad_global_fk',
      { id: uuid('id').primaryKey(), tenantRef: uuid('tenant_ref'), endpointId: uuid('endpoint_id') },
      (t) => [
        foreignKey({ columns: [t.tenantRef, t.endpointId], foreignColumns: [webhookEndpoints.tenantId, webhookEndpoints.id] }),
      ],
    );
    let error: unknown;
    try {
      citusDdl([...schemaTables(), badChild, badQueue, plainGlobal, badGlobalFk]);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(CitusSchemaError);
    const problems = (error as CitusSchemaError).problems;
    for (const fragment of [
      'app.zz_bad_child.zz_bad_child_code_key: unique key without tenant_id',
      'app.zz_bad_child: foreign key zz_bad_child_endpoint_fk to app.webhook_endpoints: does not pair tenant_id',
      'app.zz_bad_queue: primary key (id) does not include tenant_id',
      'app.zz_bad_global_fk: foreign key',
    ]) {
      expect(
        problems.some((p) => p.startsWith(fragment)),
        `expected a problem starting with: ${fragment}\ngot:\n  ${problems.join('\n  ')}`,
      ).toBe(true);
    }
    expect(problems.find((p) => p.startsWith('app.zz_bad_global_fk'))).toContain('cannot reference a distributed table');
    expect(problems.some((p) => p.startsWith('app.zz_plain_global'))).toBe(false);
    // The real schema alone has none of these problems.
    expect(() => citusDdl()).not.toThrow();
  });
});
