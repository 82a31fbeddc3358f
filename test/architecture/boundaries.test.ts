import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { expect, it } from 'vitest';

/**
 * What may import what is part of the design (docs/architecture.md). These
 * rules hold because this test fails, not because anyone remembers them.
 */
const root = new URL('../../src/', import.meta.url).pathname;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') && !path.endsWith('.test.ts') ? [path] : [];
  });
}

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)].map(
    (m) => (m[1] ?? m[2]) as string,
  );
}

const files = sourceFiles(root).map((path) => ({ path: relative(root, path), imports: importsOf(path) }));

function violations(where: (path: string) => boolean, forbidden: RegExp): string[] {
  return files
    .filter((f) => where(f.path))
    .flatMap((f) => f.imports.filter((i) => forbidden.test(i)).map((i) => `${f.path} imports ${i}`));
}

it('keeps the raw database away from feature modules: they use withTenant only', () => {
  expect(files.length).toBeGreaterThan(20);
  const raw = /db\/client(\.ts)?$|^postgres$|^@electric-sql\/pglite|^drizzle-orm\/(postgres-js|pglite)/;
  expect(violations((p) => p.startsWith('modules/'), raw)).toEqual([]);
  expect(violations((p) => p.startsWith('api/'), raw)).toEqual([]);
});

it('keeps the database layer free of transports', () => {
  // db/schema.ts gathers every table for drizzle-kit, so module schema files are the one allowed import.
  const transports = /^fastify|^@trpc|\/api\/|^\.\.?\/(.*\/)?server\.ts$|\/modules\/(?!.*\/schema\.ts$)/;
  expect(violations((p) => p.startsWith('db/'), transports)).toEqual([]);
});

it('lets modules build procedures only from the exported procedure kinds', () => {
  const rawBuilder = files
    .filter((f) => f.path.startsWith('modules/'))
    .filter((f) => /initTRPC|\bt\.procedure\b/.test(readFileSync(join(root, f.path), 'utf8')))
    .map((f) => f.path);
  expect(rawBuilder).toEqual([]);
  expect(violations((p) => p.startsWith('modules/'), /^@trpc\/server$/)).toEqual([]);
});

it('keeps procedures independent of the transports that serve them', () => {
  const transports = /(^|\/)api\/(rest|openapi)\.ts$|^\.\/(rest|openapi)\.ts$|^\.\.?\/(.*\/)?server\.ts$|^fastify/;
  expect(violations((p) => p.startsWith('modules/') || p === 'api/procedures.ts', transports)).toEqual([]);
});

it('never interpolates into raw SQL in module code', () => {
  // Schema files build policy expressions from constants with sql.raw; procedures bind every value.
  const offenders = files
    .filter((f) => f.path.startsWith('modules/') && !f.path.endsWith('/schema.ts'))
    .filter((f) => /sql\.raw\(|\.unsafe\(/.test(readFileSync(join(root, f.path), 'utf8')))
    .map((f) => f.path);
  expect(offenders).toEqual([]);
});

it('serves exactly the queries by GET over REST: reads run read-only transactions, writes never go by GET', async () => {
  const { restRoutes } = await import('../../src/api/rest.ts');
  const routes = restRoutes();
  expect(routes.length).toBeGreaterThan(50);
  const mismatched = routes
    .filter((route) => (route.method === 'GET') !== (route.procedure._def.type === 'query'))
    .map((route) => `${route.method} ${route.path} is a ${route.procedure._def.type}`);
  expect(mismatched).toEqual([]);
});
