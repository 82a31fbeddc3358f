import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const WEB = fileURLToPath(new URL('.', import.meta.url));
const OUT = fileURLToPath(new URL('../dist/web/', import.meta.url));
/** What the bundle is made of, besides web/src. */
const INPUTS = ['index.html', 'vite.config.ts', '../src/web/locales.ts', '../src/modules/ai/widgets/domains.ts'];

function newestIn(path: string): number {
  if (!existsSync(path)) return 0;
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestIn(join(path, entry)));
  return newest;
}

/** Whether dist/web is missing, or (with `stale`) older than any of its sources. */
export function webBuildNeeded(stale: boolean): boolean {
  const index = join(OUT, 'index.html');
  if (!existsSync(index)) return true;
  if (!stale) return false;
  const built = statSync(index).mtimeMs;
  return [join(WEB, 'src'), ...INPUTS.map((p) => join(WEB, p))].some((p) => newestIn(p) > built);
}

/** Builds the dashboard with Vite when needed (`npm start` on a fresh clone, browser tests). */
export async function ensureWebBuild(options: { stale?: boolean } = {}): Promise<'built' | 'fresh'> {
  if (!webBuildNeeded(options.stale ?? false)) return 'fresh';
  const { build } = await import('vite');
  await build({ configFile: join(WEB, 'vite.config.ts'), logLevel: 'warn' });
  return 'built';
}

// `node --import tsx web/ensure-built.ts` (the `prestart` script): build once if dist/web is missing.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    if ((await ensureWebBuild()) === 'built') console.log('Built the web dashboard into dist/web.');
  } catch (error) {
    // Without dev dependencies (no Vite) the server still starts; `/` then says how to build.
    console.warn(`Could not build the web dashboard (${(error as Error).message}); run \`npm run build\`.`);
  }
}
