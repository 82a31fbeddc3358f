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

/** Event types passed to emitEvent as string literals (the third argument). */
function emittedEventTypes(): string[] {
  const types = new Set<string>();
  for (const file of sourceFiles(root)) {
    const text = readFileSync(file, 'utf8');
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
