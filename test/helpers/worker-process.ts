import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { eventually } from './harness.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** `npm run worker` as a separate OS process, so a test can SIGKILL it like a crash would. */
export class WorkerProcess {
  private proc?: ChildProcess;
  output = '';

  constructor(private readonly env: Record<string, string>) {}

  async start(): Promise<void> {
    this.output = '';
    const proc = spawn(process.execPath, ['--import', 'tsx', 'src/worker/main.ts'], {
      cwd: root,
      env: { ...process.env, ...this.env, LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.proc = proc;
    proc.stdout!.on('data', (d: Buffer) => (this.output += d.toString()));
    proc.stderr!.on('data', (d: Buffer) => (this.output += d.toString()));
    await eventually(async () => {
      if (proc.exitCode !== null) throw new Error(`worker exited with ${proc.exitCode}: ${this.output.slice(-2000)}`);
      return this.output.includes('worker polling');
    }, 60_000, 'the worker process to poll');
  }

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  get exited(): boolean {
    return this.proc?.exitCode !== null || this.proc?.signalCode !== null;
  }

  /** SIGKILL at once, from synchronous code (a sink hook). */
  killNow(): void {
    this.proc?.kill('SIGKILL');
  }

  /** SIGKILL: no shutdown, no cleanup, exactly like a crash. */
  async kill(): Promise<void> {
    const proc = this.proc;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return; // a killed process has no exit code
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGKILL');
    await exited;
  }

  async stop(): Promise<void> {
    const proc = this.proc;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return; // a killed process has no exit code
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  }
}
