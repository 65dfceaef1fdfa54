import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';

const run = promisify(execFile);

const CHROMIUM_BINARIES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

function findChromium(): string | undefined {
  const configured = process.env.CHROMIUM_PATH;
  if (configured && existsSync(configured)) return configured;
  return CHROMIUM_BINARIES.find((p) => existsSync(p));
}

/**
 * Debian's chromium for the console's browser tests (Playwright's own browser download is not
 * reachable from everywhere): installed when missing and allowed (root, apt-get present).
 */
export async function installChromium(log: (line: string) => void): Promise<string | undefined> {
  if (findChromium()) return findChromium();
  if (process.getuid?.() !== 0 || !existsSync('/usr/bin/apt-get')) return undefined;
  log('Installing chromium from Debian for the console tests ...');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  await run('apt-get', ['update'], { env, maxBuffer: 64 << 20 });
  await run('apt-get', ['install', '-y', '--no-install-recommends', 'chromium'], { env, maxBuffer: 64 << 20 });
  return findChromium();
}
