import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { waitForPort } from './ports.js';
import { cacheDir } from './temporal.js';

const run = promisify(execFile);

/** moto's S3-compatible server from PyPI, in a virtualenv in the project's cache. */
export const motoServerPath = () => join(cacheDir(), 'moto-venv', 'bin', 'moto_server');

/** Finds moto_server, installing it into `<cache>/moto-venv` with pip when it is missing. */
export async function ensureMoto(say: (line: string) => void): Promise<string> {
  const path = motoServerPath();
  if (existsSync(path)) return path;
  const venv = join(cacheDir(), 'moto-venv');
  say(`installing moto (an S3-compatible server) into ${venv}`);
  await mkdir(cacheDir(), { recursive: true });
  try {
    await run('python3', ['-m', 'venv', venv]);
  } catch (err) {
    throw new Error(
      `S3 for the tests comes from moto, which needs Python 3 with venv (apt-get install python3-venv): ${(err as Error).message.split('\n')[0]}`,
    );
  }
  try {
    await run(join(venv, 'bin', 'pip'), ['install', '--quiet', 'moto[server]'], { maxBuffer: 16 * 1024 * 1024 });
  } catch (err) {
    throw new Error(`pip could not install moto[server] into ${venv}: ${(err as Error).message.split('\n').slice(-3).join(' ')}`);
  }
  if (!existsSync(path)) throw new Error(`moto installed but ${path} is missing`);
  return path;
}

export interface MotoServer {
  endpoint: string;
  /** moto accepts any credentials; these are what clients send. */
  accessKeyId: string;
  secretAccessKey: string;
  stop(): Promise<void>;
}

export async function startMoto(o: { binary: string; port: number }): Promise<MotoServer> {
  const proc: ChildProcess = spawn(o.binary, ['-H', '127.0.0.1', '-p', String(o.port)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const exited = new Promise<never>((_, reject) =>
    proc.once('exit', (code) => reject(new Error(`moto_server exited with ${code}: ${stderr.trim()}`))),
  );
  exited.catch(() => {});
  await Promise.race([waitForPort(o.port, '127.0.0.1', 30_000), exited]);
  return {
    endpoint: `http://127.0.0.1:${o.port}`,
    accessKeyId: 'test',
    secretAccessKey: 'test',
    stop: async () => {
      if (proc.exitCode !== null) return;
      const done = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await done;
    },
  };
}
