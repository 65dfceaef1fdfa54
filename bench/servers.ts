import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { freePort, waitForPort } from '../src/dev/ports.js';
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

export interface BenchServers {
  dir: string;
  temporalAddress: string;
  databaseUrl: string;
  bundlePath: string;
  stop(): Promise<void>;
}

/** A Temporal dev server, an embedded PostgreSQL and a workflow bundle, in a scratch directory. */
export async function startBenchServers(log: (l: string) => void): Promise<BenchServers> {
  const dir = await mkdtemp(join(tmpdir(), 'campaign-mailer-bench-'));
  await chmod(dir, 0o755);
  const cli = await resolveTemporalCli(log, { build: true });
  const [temporal, pg, bundle] = await Promise.all([
    startTemporalDevServer({ cli, port: await freePort() }),
    startEmbeddedPostgres({ dir: join(dir, 'postgres'), port: await freePort(), database: 'bench' }),
    bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: { info() {}, warn() {}, error: console.error, debug() {}, trace() {}, log() {} } }),
  ]);
  const bundlePath = join(dir, 'workflow-bundle.js');
  await writeFile(bundlePath, bundle.code);
  return {
    dir,
    temporalAddress: temporal.address,
    databaseUrl: pg.url,
    bundlePath,
    async stop() {
      await temporal.stop();
      await pg.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** CPU seconds (user + system) and peak resident memory of a process, from /proc. */
export async function processUsage(pid: number): Promise<{ cpuSeconds: number; peakRssMb: number }> {
  const { readFile } = await import('node:fs/promises');
  const stat = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
  const ticks = Number(stat[11]) + Number(stat[12]); // utime, stime
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const hwm = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0);
  return { cpuSeconds: ticks / 100, peakRssMb: hwm / 1024 };
}
