import { existsSync } from 'node:fs';
import { mkdir, readdir, stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Dialog, type Locator, type Page } from 'playwright-core';
import { CONSOLE_DIR } from '../../src/api/routes/console.js';
import { installChromium } from './chromium.js';

const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));

const CONSOLE_SOURCES = fileURLToPath(new URL('../../console/', import.meta.url));

/** The newest modification time among the console's sources (not its build output). */
async function newestSource(dir: string): Promise<number> {
  let newest = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.name === 'dist' || entry.name === 'node_modules') continue;
    const path = `${dir}/${entry.name}`;
    newest = Math.max(newest, entry.isDirectory() ? await newestSource(path) : (await stat(path)).mtimeMs);
  }
  return newest;
}

/**
 * Builds the console when `npm install` has not, or when its sources changed since (the API
 * serves what is there when it starts), so a test never drives a stale build.
 */
export async function ensureConsoleBuilt(): Promise<void> {
  const index = `${CONSOLE_DIR}/index.html`;
  if (existsSync(index) && (await stat(index)).mtimeMs >= (await newestSource(CONSOLE_SOURCES))) return;
  const { build } = await import('vite');
  await build({ configFile: fileURLToPath(new URL('../../console/vite.config.ts', import.meta.url)), logLevel: 'warn' });
}

export async function launchBrowser(): Promise<Browser> {
  const executablePath = await installChromium((l) => process.stdout.write(`${l}\n`));
  if (!executablePath) throw new Error('no Chromium: install Debian\'s chromium (apt-get install chromium) or set CHROMIUM_PATH');
  await mkdir(ARTIFACTS, { recursive: true });
  // The message preview's sandboxed frame stays in the page's process. Chromium otherwise gives a
  // sandboxed frame a process of its own and routes each click to a process by the compositor's
  // picture of the page, which on a loaded machine can lag a scroll the page just made (a focused
  // field brings itself into view). That frame was then the only place a click could go unseen:
  // the console's test send once clicked Send test, right below the preview, and no pointer event
  // reached the page's document. The sandbox itself (no scripts, opaque origin, its own CSP) is the
  // same in either process.
  const args = ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu', '--disable-features=IsolateSandboxedIframes'];
  return chromium.launch({ executablePath, headless: true, args });
}

/** A page in a context of its own (its own sessionStorage), recording every dialog and page error. */
export async function openPage(browser: Browser, baseUrl: string): Promise<{ page: Page; dialogs: string[]; errors: string[] }> {
  const context = await browser.newContext({ baseURL: baseUrl, acceptDownloads: true, viewport: { width: 1366, height: 900 } });
  const page = await context.newPage();
  const dialogs: string[] = [];
  const errors: string[] = [];
  page.on('dialog', (d: Dialog) => {
    dialogs.push(`${d.type()}: ${d.message()}`);
    void d.dismiss();
  });
  page.on('pageerror', (e) => errors.push(e.message));
  page.setDefaultTimeout(30_000);
  return { page, dialogs, errors };
}

export async function signIn(page: Page, key: string): Promise<void> {
  await page.goto('/');
  await page.getByLabel('API key').fill(key);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
}

export const screenshot = (page: Page, name: string) => page.screenshot({ path: `${ARTIFACTS}${name}.png`, fullPage: true });
/** A screenshot of one part of a page (a section, a table), beside the whole-page ones. */
export const screenshotOf = (part: Locator, name: string) => part.screenshot({ path: `${ARTIFACTS}${name}.png` });
