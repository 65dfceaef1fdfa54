// The servers the benchmarks run on, started here (never through the test helpers): a Temporal
// dev server, PostgreSQL, moto when asked, Postfix's smtp-sink, and workers in processes of their own.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode } from '@temporalio/worker';
import postgres from 'postgres';
import { freePort, waitForPort } from '../src/dev/ports.js';
import { ensureMoto, startMoto } from '../src/dev/moto.js';
import { startEmbeddedPostgres } from '../src/dev/postgres.js';
import { resolveTemporalCli, startTemporalDevServer } from '../src/dev/temporal.js';
import { WORKFLOWS_PATH } from '../src/worker/create.js';
import { tenths } from './figures.js';
import { benchMemorySettings, benchNodeFlags, MEMORY_SETTINGS } from './image.js';

const SMTP_SINK = '/usr/sbin/smtp-sink';
const PROJECT = fileURLToPath(new URL('..', import.meta.url));

/**
 * What this process has running (servers, workers), each with its stop: an interrupted bench
 * stops them all at once (stopEverything).
 */
const running = new Set<() => Promise<unknown>>();

/** Stops whatever the bench still has running, all at once (bench/run.ts, on SIGINT or SIGTERM). */
export async function stopEverything(): Promise<void> {
  await Promise.all([...running].reverse().map((stop) => stop().catch(() => undefined)));
}

/** A child process's stop (SIGTERM, then its exit), known to stopEverything until it is called. */
function stoppedOnInterrupt(proc: ChildProcess): () => Promise<void> {
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const stop = async () => {
    running.delete(stop);
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
    await exited;
  };
  running.add(stop);
  return stop;
}

/** Postfix's smtp-sink: a fast, neutral SMTP server that accepts and discards everything. */
export async function startPostfixSink(log: (l: string) => void): Promise<{ port: number; stop(): Promise<void> } | undefined> {
  if (!existsSync(SMTP_SINK) && process.getuid?.() === 0 && existsSync('/usr/bin/apt-get')) {
    log('installing Debian postfix for its smtp-sink ...');
    await new Promise<void>((resolve) => {
      const p = spawn('apt-get', ['install', '-y', '--no-install-recommends', 'postfix'], {
        env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
        stdio: 'ignore',
      });
      p.once('exit', () => resolve());
    });
  }
  if (!existsSync(SMTP_SINK)) return undefined;
  const port = await freePort();
  const args = [...(process.getuid?.() === 0 ? ['-u', 'nobody'] : []), `127.0.0.1:${port}`, '1024'];
  const proc: ChildProcess = spawn(SMTP_SINK, args, { stdio: 'ignore' });
  const stop = stoppedOnInterrupt(proc);
  await waitForPort(port);
  return { port, stop };
}

/** CPU seconds (user + system), peak and current resident memory of a process, from /proc. */
async function processUsage(pid: number): Promise<ProcessUsage> {
  const stat = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
  const ticks = Number(stat[11]) + Number(stat[12]); // utime, stime
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0);
  return { cpuSeconds: ticks / 100, peakRssMb: kb('VmHWM') / 1024, rssMb: kb('VmRSS') / 1024 };
}

interface ProcessUsage {
  cpuSeconds: number;
  peakRssMb: number;
  rssMb: number;
}

/**
 * Samples a worker's resident memory (MB) every second until stopped; stop() answers the largest
 * sample in each tenth of the time sampled (`tenths`), so a run of any length reads as ten figures.
 */
export function trackRss(worker: WorkerProcess): { stop(): number[] } {
  const samples: number[] = [];
  const timer = setInterval(() => {
    worker.usage().then((u) => void samples.push(u.rssMb), () => {});
  }, 1000);
  return {
    stop() {
      clearInterval(timer);
      return tenths(samples);
    },
  };
}

export interface BenchServers {
  temporalAddress: string;
  /** Superuser URL of the `postgres` database. */
  pgAdminUrl: string;
  /** The prebuilt bundles of the product's workflows and of the floor's (bench/floor/workflows.ts). */
  bundlePath: string;
  floorBundlePath: string;
  /** src/ and bench/floor/ compiled to JavaScript (compileWorkers), for spawnWorker. */
  compiledDir: string;
  /** moto's S3 server, when asked for. */
  s3Endpoint?: string;
  stop(): Promise<void>;
}

const silent = { info() {}, warn() {}, error: console.error, debug() {}, trace() {}, log() {} };

/**
 * src/ and bench/floor/ compiled into `dir` (dir/src/…, dir/bench/floor/…) the way
 * `npm run build:server` compiles the image's dist/: its esbuild flags, read from package.json,
 * one JavaScript file per TypeScript file. `dir` links the project's node_modules and says its
 * .js files are ES modules, so plain node runs them as the image runs dist/.
 */
async function compileWorkers(dir: string): Promise<void> {
  const pkg = JSON.parse(await readFile(join(PROJECT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  const flags = pkg.scripts['build:server']!.split(/\s+/).filter((a) => a.startsWith('--') && !/^--out(dir|base)=/.test(a));
  await mkdir(dir);
  await writeFile(join(dir, 'package.json'), '{ "type": "module" }\n');
  await symlink(join(PROJECT, 'node_modules'), join(dir, 'node_modules'));
  const esbuild = spawn(join(PROJECT, 'node_modules', '.bin', 'esbuild'), ['src/**/*.ts', 'bench/floor/*.ts', `--outdir=${dir}`, '--outbase=.', ...flags], {
    cwd: PROJECT,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let errors = '';
  esbuild.stderr!.on('data', (d: Buffer) => (errors += d.toString()));
  const code = await new Promise((r) => esbuild.once('exit', r));
  if (code !== 0) throw new Error(`compiling the workers failed (${String(code)}):\n${errors}`);
}

/**
 * What the delivery benchmark runs on: a Temporal dev server (or TEMPORAL_ADDRESS, when given, for
 * `npm run bench -- floor` against a server already running), and an embedded PostgreSQL started
 * twice, the second time with pg_stat_statements loaded so statements can be counted per role.
 */
export async function startBenchServers(say: (l: string) => void, o: { postgres: boolean; s3?: boolean }): Promise<BenchServers> {
  const stops: (() => Promise<unknown>)[] = [];
  // One stop, whoever asks first: an interrupt and the benchmark's own clean-up both wait for it.
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      // The servers at once (embedded PostgreSQL's own exit hook ends the process soon after it has
      // stopped, on an interrupt: by then every server has had its SIGTERM), then their folder.
      const [removeRoot, ...servers] = stops.splice(0).reverse();
      await Promise.all(servers.map((s) => s().catch((err: Error) => say(`while stopping: ${err.message}`))));
      await removeRoot?.().catch((err: Error) => say(`while stopping: ${err.message}`));
      running.delete(stop);
    })());
  running.add(stop);
  try {
    const root = await mkdtemp(join(tmpdir(), 'campaign-mailer-bench-'));
    await chmod(root, 0o755); // embedded PostgreSQL runs as another user when we are root
    stops.push(() => rm(root, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 }));
    let temporalAddress = process.env.TEMPORAL_ADDRESS;
    if (!temporalAddress) {
      const cli = await resolveTemporalCli(say, { build: true });
      const temporal = await startTemporalDevServer({ cli, port: await freePort() });
      stops.unshift(temporal.stop);
      temporalAddress = temporal.address;
    }
    const bundles = Promise.all([
      bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: silent }),
      bundleWorkflowCode({ workflowsPath: fileURLToPath(new URL('./floor/workflows.ts', import.meta.url)), logger: silent }),
    ]);
    bundles.catch(() => undefined); // awaited below
    const compiledDir = join(root, 'compiled');
    const compiled = compileWorkers(compiledDir);
    compiled.catch(() => undefined); // awaited below
    let pgAdminUrl = '';
    if (o.postgres) {
      const pgOptions = { dir: join(root, 'postgres'), port: await freePort(), database: 'postgres' };
      const first = await startEmbeddedPostgres(pgOptions);
      const admin = postgres(first.adminUrl, { max: 1, onnotice: () => {} });
      await admin`ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'`;
      await admin.end();
      await first.stop();
      const pg = await startEmbeddedPostgres(pgOptions);
      stops.unshift(() => pg.stop());
      pgAdminUrl = pg.adminUrl;
    }
    let s3Endpoint: string | undefined;
    if (o.s3) {
      const moto = await startMoto({ binary: await ensureMoto(say), port: await freePort() });
      stops.unshift(() => moto.stop());
      s3Endpoint = moto.endpoint;
    }
    await compiled;
    const [product, floor] = await bundles;
    const bundlePath = join(root, 'workflow-bundle.js');
    const floorBundlePath = join(root, 'floor-bundle.js');
    await writeFile(bundlePath, product.code);
    await writeFile(floorBundlePath, floor.code);
    return { temporalAddress, pgAdminUrl, bundlePath, floorBundlePath, compiledDir, s3Endpoint, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

export interface WorkerProcess {
  pid: number;
  usage(): Promise<ProcessUsage>;
  stop(): Promise<void>;
}

/**
 * The image's memory settings (the Dockerfile's MALLOC_ARENA_MAX, MALLOC_MMAP_THRESHOLD_ and NODE_OPTIONS), which every
 * worker the benchmarks start runs with, the floor's as the product's (benchMemorySettings).
 */
export const WORKER_MEMORY = benchMemorySettings();

/** The node flags of the image's ENTRYPOINT (V8's, not allowed in NODE_OPTIONS), or BENCH_NODE_FLAGS (benchNodeFlags). */
export const WORKER_NODE_FLAGS = benchNodeFlags();

/**
 * A worker in its own process, ready once it printed `ready`: `script` (src/worker/main.ts,
 * bench/floor/worker.ts) compiled (BenchServers.compiledDir) and run by plain node with the
 * image's memory settings (WORKER_MEMORY), as the image runs the product; with BENCH_TSX=1, the
 * TypeScript through tsx's loader. With BENCH_CPU_PROFILE=<folder>, each worker writes a V8 CPU
 * profile there when it stops. Both run with the image's node flags (WORKER_NODE_FLAGS).
 */
export async function spawnWorker(servers: BenchServers, script: string, env: Record<string, string>, ready: string): Promise<WorkerProcess> {
  const flags = process.env.BENCH_CPU_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROFILE}`] : [];
  const compiled = process.env.BENCH_TSX ? join(PROJECT, script) : join(servers.compiledDir, script.replace(/\.ts$/, '.js'));
  if (process.env.BENCH_TSX) flags.push('--import', 'tsx');
  flags.push(...WORKER_NODE_FLAGS.flags);
  const inherited = { ...process.env };
  for (const name of MEMORY_SETTINGS) delete inherited[name];
  const proc = spawn(process.execPath, [...flags, compiled], { env: { ...inherited, ...WORKER_MEMORY, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (d: Buffer) => void (out = (out + d.toString()).slice(-20_000));
  proc.stdout!.on('data', keep);
  proc.stderr!.on('data', keep);
  // Known from its spawn on: an interrupt while it is still starting stops it too.
  const stop = stoppedOnInterrupt(proc);
  for (let t = Date.now(); !out.includes(ready); ) {
    if (proc.exitCode !== null || Date.now() - t > 60_000) {
      running.delete(stop);
      proc.kill('SIGKILL');
      throw new Error(`${script} did not start:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { pid: proc.pid!, usage: () => processUsage(proc.pid!), stop };
}
