// The servers the benchmarks run on, started here (never through the test helpers): a Temporal
// dev server, PostgreSQL, moto when asked, Postfix's smtp-sink, and workers in processes of their own.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
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

const SMTP_SINK = '/usr/sbin/smtp-sink';

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
  await waitForPort(port);
  return {
    port,
    stop: async () => {
      const done = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await done;
    },
  };
}

/** CPU seconds (user + system) and peak resident memory of a process, from /proc. */
async function processUsage(pid: number): Promise<{ cpuSeconds: number; peakRssMb: number }> {
  const stat = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
  const ticks = Number(stat[11]) + Number(stat[12]); // utime, stime
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const hwm = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0);
  return { cpuSeconds: ticks / 100, peakRssMb: hwm / 1024 };
}

export interface BenchServers {
  temporalAddress: string;
  /** Superuser URL of the `postgres` database. */
  pgAdminUrl: string;
  /** The prebuilt bundles of the product's workflows and of the floor's (bench/floor/workflows.ts). */
  bundlePath: string;
  floorBundlePath: string;
  /** moto's S3 server, when asked for. */
  s3Endpoint?: string;
  stop(): Promise<void>;
}

const silent = { info() {}, warn() {}, error: console.error, debug() {}, trace() {}, log() {} };

/**
 * What the delivery benchmark runs on: a Temporal dev server (or TEMPORAL_ADDRESS, when given, for
 * `npm run bench -- floor` against a server already running), and an embedded PostgreSQL started
 * twice, the second time with pg_stat_statements loaded so statements can be counted per role.
 */
export async function startBenchServers(say: (l: string) => void, o: { postgres: boolean; s3?: boolean }): Promise<BenchServers> {
  const stops: (() => Promise<unknown>)[] = [];
  const stop = async () => {
    for (const s of stops.splice(0)) await s().catch((err: Error) => say(`while stopping: ${err.message}`));
  };
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
    const [product, floor] = await bundles;
    const bundlePath = join(root, 'workflow-bundle.js');
    const floorBundlePath = join(root, 'floor-bundle.js');
    await writeFile(bundlePath, product.code);
    await writeFile(floorBundlePath, floor.code);
    return { temporalAddress, pgAdminUrl, bundlePath, floorBundlePath, s3Endpoint, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

export interface WorkerProcess {
  pid: number;
  usage(): Promise<{ cpuSeconds: number; peakRssMb: number }>;
  stop(): Promise<void>;
}

/**
 * A worker in its own process (`node --import tsx <script>`), ready once it printed `ready`.
 * With BENCH_CPU_PROFILE=<folder>, each worker writes a V8 CPU profile there when it stops.
 */
export async function spawnWorker(script: string, env: Record<string, string>, ready: string): Promise<WorkerProcess> {
  const profile = process.env.BENCH_CPU_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROFILE}`] : [];
  const proc = spawn(process.execPath, [...profile, '--import', 'tsx', script], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (d: Buffer) => void (out = (out + d.toString()).slice(-20_000));
  proc.stdout!.on('data', keep);
  proc.stderr!.on('data', keep);
  const exited = new Promise((r) => proc.once('exit', r));
  for (let t = Date.now(); !out.includes(ready); ) {
    if (proc.exitCode !== null || Date.now() - t > 60_000) {
      proc.kill('SIGKILL');
      throw new Error(`${script} did not start:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    pid: proc.pid!,
    usage: () => processUsage(proc.pid!),
    async stop() {
      if (proc.exitCode === null) proc.kill('SIGTERM');
      await exited;
    },
  };
}
