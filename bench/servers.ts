// What the benchmarks need beyond the servers `npm test` starts (test/helpers/servers.ts).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { freePort, waitForPort } from '../src/dev/ports.js';

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
export async function processUsage(pid: number): Promise<{ cpuSeconds: number; peakRssMb: number }> {
  const stat = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
  const ticks = Number(stat[11]) + Number(stat[12]); // utime, stime
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const hwm = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0);
  return { cpuSeconds: ticks / 100, peakRssMb: hwm / 1024 };
}
