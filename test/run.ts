// `npm test`: provisions what the tests need (the Temporal CLI, Dovecot, moto, Schemathesis), starts the shared
// real servers on free ports, runs every test file with Node's test runner, and stops everything; the checks
// (test/checks.ts: tsc's diagnostics for the server and the console and ESLint on the same programs;
// knip beside it) run beside the files at idle priority (in --fast, at normal priority), unless files are named.
// `--fast` (npm run test:fast): only the unit, route and workflow tiers (FAST_DIRS), on a PostgreSQL
// and a prebuilt workflow bundle; no Temporal dev server, Dovecot, moto or browser.
// At the end it prints each file's wall time, slowest first.
import { spawn } from 'node:child_process';
import { chmod, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { bundleWorkflowCode } from '@temporalio/worker';
import { startSharedServers } from './helpers/servers.js';
import { resolveTimeSkippingServer } from './helpers/time-skipping.js';
import { ensureSchemathesis } from './helpers/schemathesis.js';
import { startEmbeddedPostgres } from '../src/dev/postgres.js';
import { WORKFLOWS_PATH } from '../src/worker/create.js';

const say = (line: string) => process.stdout.write(`[test setup] ${line}\n`);
const projectRoot = fileURLToPath(new URL('..', import.meta.url));
const started = Date.now();
const stops: (() => Promise<unknown>)[] = [];

/** The folders of the fast tier: no Temporal dev server, Dovecot, moto or browser. */
const FAST_DIRS = ['test/unit', 'test/workflows'];
/**
 * Workflow-tier files that run only in the full `npm test`: the fan-out runs 345 real delivery
 * children (a window of 10, 95 starts a run), 17 s alone here with 10 s of CPU. At the workflow's
 * own sizes (2,200 children, 40-97 s) it was more than the fast tier's budget; it has not been
 * measured inside the fast tier since.
 */
const FULL_ONLY = new Set(['test/workflows/fan-out.test.ts']);

async function testFiles(args: string[], fast: boolean): Promise<string[]> {
  if (args.length > 0) return args;
  const found: string[] = [];
  async function walk(dir: string) {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.name.endsWith('.test.ts')) found.push(relative(projectRoot, path));
    }
  }
  if (fast) for (const dir of FAST_DIRS) await walk(join(projectRoot, dir));
  else await walk(join(projectRoot, 'test'));
  return found.filter((f) => !fast || !FULL_ONLY.has(f.replace(/\\/g, '/'))).sort();
}

/** The fast tier's servers: PostgreSQL, the workflow bundle and the time-skipping server's launcher. */
async function startFastServers(): Promise<Record<string, string>> {
  const root = await mkdtemp(join(tmpdir(), 'campaign-mailer-fast-'));
  await chmod(root, 0o755); // embedded PostgreSQL runs as another user when we are root
  stops.push(() => rm(root, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 }));
  const quiet = { info() {}, warn() {}, error: console.error, debug() {}, trace() {}, log() {} };
  const [pg, bundle, testServer] = await Promise.all([
    startEmbeddedPostgres({ dir: join(root, 'postgres'), port: 'free', database: 'postgres' }),
    bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quiet }),
    resolveTimeSkippingServer(say),
  ]);
  stops.unshift(pg.stop);
  const bundlePath = join(root, 'workflow-bundle.js');
  await writeFile(bundlePath, bundle.code);
  return { CM_TEST_PG_ADMIN_URL: pg.adminUrl, WORKFLOW_BUNDLE_PATH: bundlePath, ...(testServer ? { TEMPORAL_TEST_SERVER: testServer } : {}) };
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const fast = args.includes('--fast');
  const named = args.filter((a) => a !== '--fast');
  const files = await testFiles(named, fast);
  // The checks (unless files were named) run beside the test files, not before them. Their caches (node_modules/.cache) make a warm run quick.
  const startChecks = (idle = false) => (named.length === 0 ? runChecks(fast ? FAST_CHECKS : CHECKS, idle) : Promise.resolve(0));
  if (fast) {
    // Beside the servers' start and every file.
    const checks = startChecks();
    const env = { ...process.env, ...(await startFastServers()) };
    const concurrency = Number(process.env.CM_TEST_CONCURRENCY ?? '2');
    say(`fast tier set up in ${((Date.now() - started) / 1000).toFixed(1)} s; running ${files.length} file(s), ${concurrency} at a time, the longest first, the checks beside them`);
    const code = await runEach(files, concurrency, env);
    return (await checks) || code;
  }
  const servers = await startSharedServers(say);
  stops.push(servers.stop);
  say(`servers up in ${((Date.now() - started) / 1000).toFixed(1)} s: ${servers.summary}`);
  // The contract test (test/contract.test.ts) runs Schemathesis against a running API.
  const schemathesis = await ensureSchemathesis(say);

  // Each file runs in its own process on its own database, task queue, bucket, IMAP user and SMTP
  // sink (test/helpers/harness.ts), so files can overlap: two at a time (CM_TEST_CONCURRENCY), the
  // longest first (runEach). The files in ALONE run after the others, alone: the contract test loads the
  // shared Temporal server so hard (Schemathesis starts hundreds of workflows) that a file beside it
  // misses its deadlines, and the throttle tests measure the rate the sends reach under a limit,
  // which other files' load on the two cores lowers (94.0 % of the limit once beside them, 99.4-99.5 % in other runs).
  const concurrency = process.env.CM_TEST_CONCURRENCY ?? '2';
  const alone = files.filter((f) => ALONE.has(f.replace(/\\/g, '/')));
  const together = files.filter((f) => !alone.includes(f));
  const clockBound = together.filter(onTheClock);
  say(`running ${together.length} file(s), ${concurrency} at a time${clockBound.length ? ` (and beside them ${clockBound.join(', ')}, which wait on the clock)` : ''}${alone.length ? `, then ${alone.join(', ')} alone` : ''}`);
  const testServer = files.some((f) => f.replace(/\\/g, '/').startsWith('test/workflows/')) ? await resolveTimeSkippingServer(say) : undefined;
  const env = { ...process.env, ...servers.env, CM_TEST_SCHEMATHESIS: schemathesis, ...(testServer ? { TEMPORAL_TEST_SERVER: testServer } : {}) };
  // The checks run from the start at the lowest CPU priority: on what the test files leave idle
  // (about a fifth of the two cores while the lanes run), and on the core the files that run alone
  // leave free, without slowing a file that has a deadline. At normal priority beside the lanes
  // they slowed the files as much as they saved; after the lanes, beside the contract test, they
  // made it the run's longest file (55 s alone, 92 s beside them).
  const checks = startChecks(true);
  let code = together.length ? await runEach(together, Number(concurrency), env) : 0;
  for (const file of alone) code = (await runEach([file], 1, env)) || code;
  return (await checks) || code;
}

const ALONE = new Set(['test/contract.test.ts', 'test/throttle.test.ts', 'test/throttle-stall.test.ts']);

/**
 * Files that spend most of their time waiting for the wall clock, not the CPU (their own process
 * used a tenth to a sixth of their wall time in a full run): a send window that opens at the next
 * whole minute (send-windows, 110-145 s), sends waiting for their slots under a rate limit (stop-while-waiting,
 * 50 s), a database kept away for at least 5 s (postgres-outage, 40 s), test sends and their
 * retries (test-send, 40 s), workers and an API stopped by SIGTERM (graceful-shutdown, 23 s) or
 * waiting at start for servers kept away (startup-wait, 40 s), an
 * Update that waits out the API's 15 s twice (late-transition, 50-75 s, 5 s of CPU). They
 * run one after the other, the longest first, in a lane of their own beside the CONCURRENCY lanes,
 * instead of holding one of those for five minutes: together they take about 420 s, the other
 * lanes about 550 s.
 */
const ON_THE_CLOCK = new Set([
  'test/send-windows.test.ts',
  'test/stop-while-waiting.test.ts',
  'test/postgres-outage.test.ts',
  'test/late-transition.test.ts',
  'test/test-send.test.ts',
  'test/graceful-shutdown.test.ts',
  'test/startup-wait.test.ts',
]);
const onTheClock = (f: string) => ON_THE_CLOCK.has(f.replace(/\\/g, '/'));

/**
 * The checks, all at once (knip's few seconds beside the type check and lint, which end the fast
 * tier when the caches are empty); the run fails if any fails.
 */
async function runChecks(checks: [string, string[]][], idle: boolean): Promise<number> {
  const codes = await Promise.all(
    checks.map(async ([name, cmd]) => {
      const t = Date.now();
      const code = await runCommand(idle && process.platform !== 'win32' ? ['nice', '-n', '19', ...cmd] : cmd);
      fileTimes.set(idle ? `(${name}, at idle priority)` : `(${name})`, { wall: (Date.now() - t) / 1000 });
      if (code !== 0) say(`FAILED: ${name}`);
      return code;
    }),
  );
  return codes.find((c) => c !== 0) ?? 0;
}

/**
 * The checks. Type check and lint share one process and one TypeScript program per
 * tsconfig (test/checks.ts): as two tools they built the same program twice. The fast tier checks
 * the server's code (src, test, bench) and leaves the console's 9 files to the full run: their
 * programs (React's and the DOM's types, Vite's for its config) cost about 4 s of CPU with empty
 * caches, on two cores the tier shares with its files.
 */
const CHECKS: [string, string[]][] = [
  ['type check and lint', ['npx', 'tsx', 'test/checks.ts', 'types', 'console', 'lint']],
  ['knip', ['npx', 'knip', '--no-progress']],
];
const FAST_CHECKS: [string, string[]][] = [
  ['type check and lint', ['npx', 'tsx', 'test/checks.ts', 'types', 'lint-server']],
  ['knip', ['npx', 'knip', '--no-progress']],
];

/**
 * The files that take longest, longest first (each run alone on the 2-core machine: send-windows
 * 95-100 s, throttle 86 s, slow-smtp 63 s, console 45-53 s, postgres-outage 35 s, list-stream-cut
 * 26 s, fan-out 17 s). runEach starts them before the others: `node --test` runs files in name
 * order, which started some of these last, beside an idle core, and the run waited for them alone.
 */
const LONGEST_FIRST = [
  'test/send-windows.test.ts',
  'test/throttle.test.ts',
  'test/slow-smtp.test.ts',
  'test/console.test.ts',
  'test/list-stream-cut.test.ts',
  'test/workflows/fan-out.test.ts',
  'test/stop-while-waiting.test.ts',
  'test/late-transition.test.ts',
  'test/postgres-outage.test.ts',
  'test/test-send.test.ts',
  'test/graceful-shutdown.test.ts',
  // The fast tier's longest (with the checks beside them, empty caches): control 24 s, pilot 14 s,
  // delivery 10 s, review 7 s, temporal-connection 6 s. In name order they came last, and the
  // tier's last 10 s were control alone on one core.
  'test/workflows/control.test.ts',
  'test/workflows/pilot.test.ts',
  'test/workflows/delivery.test.ts',
  'test/workflows/review.test.ts',
  'test/unit/temporal-connection.test.ts',
];

/** `files` with those of LONGEST_FIRST first, in its order, then the others in name order. */
function longestFirst(files: string[]): string[] {
  const rank = (f: string) => {
    const i = LONGEST_FIRST.indexOf(f.replace(/\\/g, '/'));
    return i < 0 ? LONGEST_FIRST.length : i;
  };
  return [...files].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

/**
 * Runs each file with Node's test runner in a process of its own (as `node --test` would, without
 * its name order), `concurrency` at a time, the longest first; a file's output is printed whole
 * when it ends, so two files' lines never interleave.
 */
async function runEach(files: string[], concurrency: number, env: NodeJS.ProcessEnv): Promise<number> {
  const waiting = longestFirst(files.filter(onTheClock));
  const working = longestFirst(files.filter((f) => !onTheClock(f)));
  const failed: string[] = [];
  const clock = ['--import', pathToFileURL(join(projectRoot, 'test/helpers/file-clock.mjs')).href];
  const lane = (queue: string[]) => async () => {
    for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
      const child = spawn(process.execPath, ['--import', 'tsx', ...clock, '--test', TEST_TIMEOUT, file], {
        cwd: projectRoot,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...env, CM_TEST_FILE_TIMES: timesFile },
      });
      const output: Buffer[] = [];
      child.stdout.on('data', (d: Buffer) => output.push(d));
      child.stderr.on('data', (d: Buffer) => output.push(d));
      const code = await new Promise<number>((resolve) => child.once('close', (c, signal) => resolve(c ?? (signal ? 1 : 0))));
      process.stdout.write(`[test file] ${file}\n${Buffer.concat(output).toString()}`);
      if (code !== 0) failed.push(file);
    }
  };
  const lanes = Array.from({ length: Math.max(1, concurrency) }, () => lane(working));
  // The files that mostly wait for the clock take a lane of their own beside the others.
  if (waiting.length) lanes.push(lane(waiting));
  await Promise.all(lanes.map((run) => run()));
  await collectTimes();
  for (const file of failed) say(`FAILED: ${file}`);
  return failed.length ? 1 : 0;
}

/**
 * No test waits longer than this (the slowest take 100-120 s on a loaded 2-core machine): a test
 * that hangs fails in minutes with its name, instead of holding the whole run until CI gives up.
 */
const TEST_TIMEOUT = '--test-timeout=600000';

function runCommand([cmd, ...rest]: string[]): Promise<number> {
  say(`$ ${[cmd, ...rest].join(' ')}`);
  const child = spawn(cmd!, rest, { cwd: projectRoot, stdio: 'inherit' });
  return new Promise((resolve) => child.once('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0))));
}

/**
 * Each file's wall time in seconds (its process, start to exit) and its own process's CPU time
 * (test/helpers/file-clock.mjs); the checks' wall time.
 */
const fileTimes = new Map<string, { wall: number; cpu?: number }>();
const timesFile = join(tmpdir(), `campaign-mailer-file-times-${process.pid}.jsonl`);

async function collectTimes(): Promise<void> {
  const text = await readFile(timesFile, 'utf8').catch(() => '');
  await rm(timesFile, { force: true });
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const { file, ms, cpuMs } = JSON.parse(line) as { file: string; ms: number; cpuMs?: number };
    fileTimes.set(relative(projectRoot, file), { wall: ms / 1000, cpu: cpuMs === undefined ? undefined : cpuMs / 1000 });
  }
}

function printTimes(): void {
  if (fileTimes.size === 0) return;
  say('wall time per file, slowest first (and the CPU time of the file\'s own process):');
  const rows = [...fileTimes].map(([file, t]) => ({ file, ...t })).sort((a, b) => b.wall - a.wall);
  for (const r of rows) say(`  ${r.wall.toFixed(1).padStart(7)} s  ${(r.cpu === undefined ? '' : `${r.cpu.toFixed(1)} s`).padStart(8)}  ${r.file}`);
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
printTimes();
say(`done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
process.exit(exitCode);
