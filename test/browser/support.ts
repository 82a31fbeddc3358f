import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { chromium } from 'playwright-core';
import { ensureWebBuild, webBuildNeeded } from '../../web/ensure-built.ts';

const IN_CI = process.env.CI === 'true' || process.env.CI === '1';

/** Debian's chromium (`.ci/run` installs it with apt), or CHROMIUM_PATH. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Where screenshots go (gitignored; CI keeps it as an artifact). */
export const ARTIFACTS = join(process.cwd(), 'test-artifacts');

/**
 * Whether the browser suites run. As with server PostgreSQL and Redis: mandatory in CI (the test file
 * fails when chromium is missing), skipped with a visible notice elsewhere.
 */
export function browserSuites(what: string): boolean {
  if (existsSync(CHROMIUM_PATH)) return true;
  if (IN_CI) throw new Error(`CI=true but chromium is not installed at ${CHROMIUM_PATH}`);
  console.warn(
    `\n  NOTICE: chromium is not installed at ${CHROMIUM_PATH}; ${what} are SKIPPED. Install chromium or set CHROMIUM_PATH.\n`,
  );
  return false;
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    // Containers often run as root without user namespaces; /dev/shm is small there.
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
  });
}

/**
 * Builds the dashboard when dist/web is missing or older than web/ (once, even when several browser test
 * files start together: a lock directory serialises them, waiting at most two minutes).
 */
export async function buildWebOnce(): Promise<void> {
  if (!webBuildNeeded(true)) return;
  const lock = join(process.cwd(), 'dist', '.web-build.lock');
  mkdirSync(join(process.cwd(), 'dist'), { recursive: true });
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      // A lock left behind by a killed run is stale after two minutes.
      if (existsSync(lock) && Date.now() - statSync(lock).mtimeMs > 120_000) rmSync(lock, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error('timed out waiting for another web build');
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  try {
    await ensureWebBuild({ stale: true });
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

/** A fresh context (its own cookies and storage) with a page, in English. */
export async function newPage(browser: Browser, baseURL: string): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ baseURL, locale: 'en-US', viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  return { context, page };
}

/** Signs in through the sign-in form, as a person would. */
export async function signInWithForm(page: Page, email: string, password: string): Promise<void> {
  await page.goto('/sign-in');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
}
