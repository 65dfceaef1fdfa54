import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../src/dev/ports.js';
import { API_KEY, eventually, type ApiResponse } from './harness.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** `npm run api` as a separate OS process, on a free port, with the harness's admin key. */
export class ApiProcess {
  private proc?: ChildProcess;
  output = '';
  baseUrl = '';

  constructor(private readonly env: Record<string, string>) {}

  /** Starts the API; when its port turns out to be someone else's (taken between the check and the listen), on another. */
  async start(): Promise<void> {
    for (let tries = 1; ; tries++) {
      await this.startOnce();
      const health = await fetch(`${this.baseUrl}/healthz`).then(
        async (r) => (r.ok ? ((await r.json()) as { status?: string }).status : undefined),
        () => undefined,
      );
      if (health === 'ok' && !this.exited) return;
      await this.stop();
      if (tries === 3) throw new Error(`the API process did not answer on ${this.baseUrl}: ${this.output.slice(-2000)}`);
    }
  }

  private async startOnce(): Promise<void> {
    const port = await freePort();
    this.baseUrl = `http://127.0.0.1:${port}`;
    const proc = spawn(process.execPath, ['--import', 'tsx', 'src/api/main.ts'], {
      cwd: root,
      env: { ...process.env, ...this.env, API_KEY, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.proc = proc;
    proc.stdout!.on('data', (d: Buffer) => (this.output += d.toString()));
    proc.stderr!.on('data', (d: Buffer) => (this.output += d.toString()));
    await eventually(async () => {
      if (proc.exitCode !== null) throw new Error(`API exited with ${proc.exitCode}: ${this.output.slice(-2000)}`);
      return this.output.includes('API listening');
    }, 60_000, 'the API process to listen');
  }

  get exited(): boolean {
    return this.proc?.exitCode !== null || this.proc?.signalCode !== null;
  }

  async api<T = any>(method: string, path: string, body?: unknown): Promise<ApiResponse<T>> {
    const res = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${API_KEY}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON: keep the text
    }
    return { status: res.status, body: parsed as T, headers: res.headers };
  }

  async stop(): Promise<void> {
    const proc = this.proc;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}
