// `npm test`: provisions what the tests need (the Temporal CLI, Dovecot), starts the shared real
// servers on free ports, runs every test file with Node's test runner, and stops everything.
import { spawn } from 'node:child_process';
import { chmod, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode } from '@temporalio/worker';
import { findDovecot, installDovecot, startDovecot } from '../src/dev/dovecot.js';
import { freePort } from '../src/dev/ports.js';
import { startEmbeddedPostgres } from '../src/dev/postgres.js';
import { resolveTemporalCli, startTemporalDevServer } from '../src/dev/temporal.js';
import { WORKFLOWS_PATH } from '../src/worker/create.js';

const say = (line: string) => process.stdout.write(`[test setup] ${line}\n`);
const projectRoot = fileURLToPath(new URL('..', import.meta.url));
const started = Date.now();
const stops: (() => Promise<unknown>)[] = [];

async function testFiles(args: string[]): Promise<string[]> {
  if (args.length > 0) return args;
  const found: string[] = [];
  async function walk(dir: string) {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.name.endsWith('.test.ts')) found.push(relative(projectRoot, path));
    }
  }
  await walk(join(projectRoot, 'test'));
  return found.sort();
}

async function main(): Promise<number> {
  const files = await testFiles(process.argv.slice(2));
  const root = await mkdtemp(join(tmpdir(), 'campaign-mailer-test-'));
  await chmod(root, 0o755); // embedded PostgreSQL runs as another user when we are root
  stops.push(() => rm(root, { recursive: true, force: true }));

  const cli = await resolveTemporalCli(say, { build: true });
  say(`Temporal CLI: ${cli.path ?? "the SDK's download"} (${cli.origin})`);
  let dovecotBinary = findDovecot();
  if (!dovecotBinary) {
    try {
      dovecotBinary = await installDovecot(say);
    } catch (err) {
      throw new Error(`Dovecot is missing and could not be installed: ${(err as Error).message}`);
    }
  }
  if (!dovecotBinary) {
    throw new Error('the tests need Dovecot as their IMAP server: install dovecot-imapd (apt-get install dovecot-imapd), or run as root so the tests can install it');
  }

  const [temporalPort, pgPort, imapPort] = [await freePort(), await freePort(), await freePort()];
  const [temporal, pg, imap, bundle] = await Promise.all([
    startTemporalDevServer({ cli, port: temporalPort }),
    startEmbeddedPostgres({ dir: join(root, 'postgres'), port: pgPort, database: 'postgres' }),
    startDovecot({ binary: dovecotBinary, dir: join(root, 'dovecot'), port: imapPort, password: 'test-imap-password' }),
    bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: { info() {}, warn() {}, error: console.error, debug() {}, trace() {}, log() {} } }),
  ]);
  stops.unshift(temporal.stop, pg.stop, imap.stop);
  const bundlePath = join(root, 'workflow-bundle.js');
  await writeFile(bundlePath, bundle.code);
  say(`servers up in ${((Date.now() - started) / 1000).toFixed(1)} s: Temporal ${temporal.address}, PostgreSQL :${pgPort}, Dovecot :${imapPort}`);

  const child = spawn(process.execPath, ['--import', 'tsx', '--test', ...files], {
    cwd: projectRoot,
    stdio: 'inherit',
    env: {
      ...process.env,
      CM_TEST_TEMPORAL_ADDRESS: temporal.address,
      CM_TEST_TEMPORAL_CLI: cli.path ?? '',
      CM_TEST_PG_ADMIN_URL: pg.adminUrl,
      CM_TEST_IMAP_PORT: String(imapPort),
      CM_TEST_IMAP_PASSWORD: imap.password,
      WORKFLOW_BUNDLE_PATH: bundlePath,
    },
  });
  const code: number = await new Promise((resolve) => child.once('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0))));
  return code;
}

async function stopAll(): Promise<void> {
  for (const stop of stops.splice(0)) {
    try {
      await stop();
    } catch (err) {
      say(`while stopping: ${(err as Error).message}`);
    }
  }
}

let exitCode = 1;
try {
  exitCode = await main();
} catch (err) {
  process.stderr.write(`[test setup] cannot run the tests: ${(err as Error).message}\n`);
  exitCode = 1;
}
await stopAll();
say(`done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
process.exit(exitCode);
