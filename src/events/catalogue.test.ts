import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EVENT_CATALOGUE, isCatalogued, minRoleToSee } from './catalogue.ts';

const srcRoot = new URL('../', import.meta.url).pathname;
const docs = (name: string) => readFileSync(new URL(`../../docs/${name}`, import.meta.url), 'utf8');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') && !path.endsWith('.test.ts') ? [path] : [];
  });
}

/** The top-level arguments of the call whose opening parenthesis is at `open`, as source text. */
function callArguments(text: string, open: number): string[] {
  const args: string[] = [];
  let depth = 0;
  let start = open + 1;
  for (let i = open; i < text.length; i++) {
    const c = text[i];
    if (c === "'" || c === '"' || c === '`') {
      // Skips the string; a template's `${...}` holds no quote of its own kind in our emit calls.
      for (i++; i < text.length && text[i] !== c; i++) if (text[i] === '\\') i++;
    } else if (c === '(' || c === '[' || c === '{') {
      depth++;
    } else if (c === ')' || c === ']' || c === '}') {
      depth--;
      if (depth === 0) {
        args.push(text.slice(start, i).trim());
        return args;
      }
    } else if (c === ',' && depth === 1) {
      args.push(text.slice(start, i).trim());
      start = i + 1;
    }
  }
  throw new Error('unbalanced call');
}

const catalogued = Object.keys(EVENT_CATALOGUE);
const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const DOTTED_LITERAL = /'([a-z0-9_]+(?:\.[a-z0-9_]+)+)'/g;

/**
 * The event type argument of every emitEvent call in src: its string literals (both sides of a conditional
 * too), a template literal as a pattern, or a constant declared with a literal somewhere in src.
 */
function emittedTypes(): { site: string; types: string[] }[] {
  const files = sourceFiles(srcRoot).map((path) => ({ path: relative(srcRoot, path), text: readFileSync(path, 'utf8') }));
  const constants = new Map<string, string>();
  for (const { text } of files) {
    for (const m of text.matchAll(/const ([A-Z][A-Z0-9_]*) = '([a-z0-9_]+(?:\.[a-z0-9_]+)+)'/g))
      constants.set(m[1] as string, m[2] as string);
  }
  return files.flatMap(({ path, text }) =>
    [...text.matchAll(/(?<!function )\bemitEvent\(/g)].map((call) => {
      const site = `${path}:${text.slice(0, call.index).split('\n').length}`;
      const arg = callArguments(text, (call.index as number) + call[0].length - 1)[2] ?? '';
      const literals = [...arg.matchAll(DOTTED_LITERAL)].map((m) => m[1] as string);
      if (literals.length > 0) return { site, types: literals };
      const constant = constants.get(arg);
      if (constant) return { site, types: [constant] };
      const template = /^`([^`]*)`$/.exec(arg)?.[1];
      if (template) {
        const pattern = new RegExp(
          `^${template
            .split(/\$\{[^}]*\}/)
            .map(escapeRegExp)
            .join('[a-z0-9_]+')}$`,
        );
        return { site, types: catalogued.filter((type) => pattern.test(type)) };
      }
      return { site, types: [] };
    }),
  );
}

/** The types in the event type table of docs/webhooks.md. */
function documentedTypes(): string[] {
  const section = docs('webhooks.md').split('### Event types')[1]?.split('\n## ')[0] ?? '';
  const rows = section.split('\n').filter((line) => /^\| [A-Z]/.test(line) && !line.startsWith('| Area'));
  return rows.flatMap((row) => [...(row.split('|')[2] ?? '').matchAll(/`([^`]+)`/g)].map((m) => m[1] as string));
}

describe('the event catalogue', () => {
  it('declares every type that code emits, so each states who may see it in realtime', () => {
    const emitted = emittedTypes();
    expect(emitted.length).toBeGreaterThan(60);
    // A type argument this test cannot read (a variable) must become a literal, a conditional of literals or a constant.
    expect(emitted.filter((e) => e.types.length === 0).map((e) => e.site)).toEqual([]);
    const missing = emitted.flatMap((e) => e.types.filter((type) => !isCatalogued(type)).map((type) => `${e.site} ${type}`));
    expect(missing).toEqual([]);
  });

  it('is the table in docs/webhooks.md, type for type', () => {
    const documented = documentedTypes();
    expect(documented.length).toBeGreaterThan(60);
    expect([...documented].sort()).toEqual([...catalogued].sort());
  });

  it('keeps the events of admin-only objects from members: API keys, webhook endpoints, invitations, the gateway', () => {
    const adminOnlyObjects = /^(api_key|webhook_endpoint|webhook|invitation|campaign_gateway)\./;
    const objects = catalogued.filter((type) => adminOnlyObjects.test(type));
    expect(objects.length).toBeGreaterThanOrEqual(12);
    expect(objects.filter((type) => minRoleToSee(type) !== 'admin')).toEqual([]);
  });

  it('treats a type it does not know as admin-only', () => {
    expect(minRoleToSee('contact.created')).toBe('member');
    expect(minRoleToSee('webhook_endpoint.created')).toBe('admin');
    expect(minRoleToSee('something.new')).toBe('admin');
    expect(minRoleToSee('toString')).toBe('admin');
  });

  it('lists the admin-only types in docs/realtime.md', () => {
    const section = docs('realtime.md').split('## Who receives which events')[1]?.split('\n#')[0] ?? '';
    const listed = [...section.matchAll(/`([a-z0-9_]+(?:\.[a-z0-9_]+)+)`/g)].map((m) => m[1] as string);
    const adminOnly = catalogued.filter((type) => minRoleToSee(type) !== 'member');
    expect([...new Set(listed)].sort()).toEqual(adminOnly.sort());
  });
});
