import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';

const root = new URL('../../src/', import.meta.url).pathname;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') && !path.endsWith('.test.ts') ? [path] : [];
  });
}

const sources = () => sourceFiles(root).map((file) => readFileSync(file, 'utf8'));
const DOTTED = /'([a-z_]+(?:\.[a-z_]+)+)'/g;

/** Event types passed to emitEvent as string literals (the third argument). */
function emittedEventTypes(): string[] {
  const types = new Set<string>();
  for (const text of sources()) {
    for (const call of text.matchAll(/emitEvent\(\s*[^,]+,\s*(?:[^,()]|\([^()]*\))+,\s*'([a-z_]+(?:\.[a-z_]+)+)'/g)) {
      types.add(call[1] as string);
    }
  }
  return [...types].sort();
}

it('documents every event type in docs/webhooks.md, so integrators can subscribe to it', () => {
  const docs = readFileSync(new URL('../../docs/webhooks.md', import.meta.url), 'utf8');
  const types = emittedEventTypes();
  expect(types.length).toBeGreaterThan(40);
  expect(types.filter((type) => !docs.includes(`\`${type}\``))).toEqual([]);
});

/**
 * Audit actions written as literals: the `action` of every recordAudit call (both sides of a conditional
 * too) and the action of every platform-admin read. Built names (`${resource}.bulk_deleted`) are listed in
 * the docs by hand.
 */
function auditActions(): string[] {
  const actions = new Set<string>();
  for (const text of sources()) {
    for (const call of text.matchAll(/recordAudit\([^;]*?action:\s*([^\n]+)/g)) {
      for (const literal of (call[1] as string).matchAll(DOTTED)) actions.add(literal[1] as string);
    }
    for (const call of text.matchAll(/auditPlatformRead\([^;]*?'([a-z_]+(?:\.[a-z_]+)+)'/g)) actions.add(call[1] as string);
  }
  return [...actions].sort();
}

it('documents every audit action in docs/audit-log.md, so admins know what they are reading', () => {
  const docs = readFileSync(new URL('../../docs/audit-log.md', import.meta.url), 'utf8');
  const actions = auditActions();
  expect(actions.length).toBeGreaterThan(40);
  expect(actions.filter((action) => !docs.includes(`\`${action}\``))).toEqual([]);
});
