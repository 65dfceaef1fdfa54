import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { chmod, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { Connection } from '@temporalio/client';
import { freePort } from '../src/dev/ports.js';
import { resolveTemporalCli, startTemporalDevServer } from '../src/dev/temporal.js';

// `npm run dev` keeps its data across restarts, and its ports too: an account a developer stored
// pointing at the dev SMTP sink or Dovecot, or a bookmarked Temporal UI, must still work after a
// restart. The stack is started as a process, twice on the same DATA_DIR; between the runs another
// listener takes the SMTP port, which the second run replaces and reports.

const projectRoot = fileURLToPath(new URL('..', import.meta.url));
let dataDir = '';

before(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'cm-dev-ports-'));
  await chmod(dataDir, 0o755); // embedded PostgreSQL and Dovecot run as other users when we are root
});
after(async () => {
  await rm(dataDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
});

/** Every part embedded: the variables that would replace one are left out. */
function devEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir };
  for (const key of Object.keys(env)) {
    if (/^(TEMPORAL_|S3_|SMTP_|IMAP_)/.test(key) || ['DATABASE_URL', 'API_KEY', 'PORT', 'METRICS_PORT', 'HOST', 'PUBLIC_URL', 'MASTER_KEY', 'DEV_VERBOSE'].includes(key)) delete env[key];
  }
  return env;
}

/** The end of each part's log, for a start that failed. */
async function logTail(): Promise<string> {
  const dir = join(dataDir, 'logs');
  const names = await readdir(dir).catch(() => []);
  const tails = await Promise.all(names.map(async (n) => `--- ${n}\n${(await readFile(join(dir, n), 'utf8')).split('\n').slice(-15).join('\n')}`));
  return tails.join('\n');
}

/** Starts the dev stack, waits for its summary, stops it with SIGTERM; its output and the ports file. */
async function runDev(): Promise<{ out: string; ports: Record<string, number> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/dev/main.ts'], { cwd: projectRoot, env: devEnv(), detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((ok) => child.once('exit', ok));
  try {
    const deadline = Date.now() + 120_000;
    while (!out.includes('Press Ctrl+C')) {
      const early = await Promise.race([exited, new Promise<'running'>((ok) => setTimeout(() => ok('running'), 200))]);
      if (early !== 'running') assert.fail(`the dev stack exited with ${early}:\n${out}\n${err}\n${await logTail()}`);
      if (Date.now() > deadline) assert.fail(`no summary within 120 s:\n${out}\n${err}`);
    }
    child.kill('SIGTERM');
    assert.equal(await exited, 0, `${out}\n${err}`);
    return { out, ports: JSON.parse(await readFile(join(dataDir, 'ports.json'), 'utf8')) as Record<string, number> };
  } finally {
    // Whatever is left of its process group (nothing, when it stopped in order).
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

test('a restart of `npm run dev` takes the ports of the last run, and replaces a taken one saying so', { timeout: 300_000 }, async () => {
  const first = await runDev();
  const { ports } = first;
  for (const name of ['temporal', 'temporalUi', 'postgres', 'smtp', 'api', 'metrics']) assert.ok(ports[name], `${name} is remembered: ${JSON.stringify(ports)}`);
  assert.match(first.out, new RegExp(`Temporal UI +http://127\\.0\\.0\\.1:${ports.temporalUi}\\b`));
  assert.match(first.out, new RegExp(`SMTP +smtp://127\\.0\\.0\\.1:${ports.smtp}\\b`));

  // Another program takes the SMTP sink's port while dev is stopped.
  const squatter = createServer();
  await new Promise<void>((ok) => squatter.listen(ports.smtp, '127.0.0.1', ok));
  let second: Awaited<ReturnType<typeof runDev>>;
  try {
    second = await runDev();
  } finally {
    await new Promise((ok) => squatter.close(ok));
  }

  const { smtp, ...others } = second.ports;
  const { smtp: firstSmtp, ...firstOthers } = ports;
  assert.deepEqual(others, firstOthers, 'every port that was free is the same as last time');
  assert.notEqual(smtp, firstSmtp);
  assert.match(second.out, new RegExp(`SMTP +smtp://127\\.0\\.0\\.1:${smtp}\\b`));
  assert.match(second.out, new RegExp(`Temporal UI +http://127\\.0\\.0\\.1:${ports.temporalUi}\\b`));
  assert.match(second.out, new RegExp(`Console +http://127\\.0\\.0\\.1:${ports.api}/`));
  assert.ok(second.out.includes(`SMTP port ${firstSmtp} is taken: SMTP is on ${smtp} this time`), second.out);
});

test('a Temporal dev server that exits as it starts (a port of its own taken meanwhile) is started again once', async () => {
  const real = (await resolveTemporalCli(() => {}, { build: false })).path;
  assert.ok(real, 'the Temporal CLI the tests use');
  const dir = await mkdtemp(join(tmpdir(), 'cm-temporal-retry-'));
  const marker = join(dir, 'tried');
  const cli = join(dir, 'temporal');
  // Exits 1 the first time, as the CLI does when a port it picked is taken; then it is the CLI.
  await writeFile(cli, `#!/bin/sh\nif [ ! -e "${marker}" ]; then touch "${marker}"; echo "address already in use" >&2; exit 1; fi\nexec "${real}" "$@"\n`);
  await chmod(cli, 0o755);
  const log = createWriteStream(join(dir, 'temporal.log'));
  const server = await startTemporalDevServer({ cli: { path: cli, origin: 'test' }, port: await freePort(), dbFile: join(dir, 'temporal.sqlite'), log });
  try {
    const connection = await Connection.connect({ address: server.address });
    await connection.workflowService.describeNamespace({ namespace: server.namespace });
    await connection.close();
  } finally {
    await server.stop();
    log.end();
  }
  const written = await readFile(join(dir, 'temporal.log'), 'utf8');
  assert.match(written, /address already in use[\s\S]*exited at start \(temporal server start-dev exited with 1; see .*\); starting it again/);
  await rm(dir, { recursive: true, force: true });
});
