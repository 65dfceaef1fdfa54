// docker-compose.yml and the Dockerfile read the way Docker reads them, so a test can run a
// service's exact command and environment as a native process (there is no Docker engine here).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import type { z } from 'zod';
import { ConfigError, parseEnv } from '../../src/config.js';
export { readDockerfile } from '../../bench/image.js';
import { eventually } from './harness.js';

export const root = fileURLToPath(new URL('../..', import.meta.url));

export type ComposeFile = { services: Record<string, ComposeService>; [key: string]: unknown };
export interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string[];
  entrypoint?: string[];
  environment?: Record<string, string | number | boolean | null>;
  depends_on?: Record<string, { condition: string; required?: boolean }>;
  healthcheck?: { test?: string[]; disable?: boolean };
  profiles?: string[];
  ports?: string[];
  container_name?: string;
  restart?: string;
  stop_grace_period?: string;
  [key: string]: unknown;
}

/** docker-compose.yml as YAML with its anchors and `<<` merges resolved, before interpolation. */
export function readCompose(): ComposeFile {
  return parse(readFileSync(`${root}/docker-compose.yml`, 'utf8'), { merge: true }) as ComposeFile;
}

/**
 * Compose's interpolation of one string: `${VAR}`, `${VAR:-default}` (unset or empty),
 * `${VAR-default}` (unset), `${VAR:?error}` / `${VAR?error}` (fails), `$$` (a literal `$`).
 */
function interpolate(text: string, vars: Record<string, string>): string {
  return text.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?)([-?])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (all, name, colon, op, arg, bare) => {
    if (all === '$$') return '$';
    if (bare) return vars[bare] ?? '';
    const value = vars[name as string];
    const missing = value === undefined || (colon === ':' && value === '');
    if (op === '-') return missing ? (arg as string) : value!;
    if (op === '?' && missing) throw new Error(`${name as string}: ${(arg as string) || 'required'}`);
    return value ?? '';
  });
}

/** Every string of `value`, interpolated (keys are left as they are, as Compose does). */
export function interpolateAll<T>(value: T, vars: Record<string, string>): T {
  if (typeof value === 'string') return interpolate(value, vars) as T;
  if (Array.isArray(value)) return value.map((v) => interpolateAll(v, vars)) as T;
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolateAll(v, vars)])) as T;
  }
  return value;
}

/** A `.env` file's variables (KEY=value lines; # comments; no quoting needed for ours). */
export function parseDotEnv(text: string): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (m) vars[m[1]!] = m[2]!.trim();
  }
  return vars;
}

/** A service's environment as strings, each value with compose host:port pairs replaced. */
export function serviceEnv(service: ComposeService, hosts: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(service.environment ?? {})) {
    let text = value === null ? '' : String(value);
    for (const [from, to] of Object.entries(hosts)) text = text.split(from).join(to);
    env[name] = text;
  }
  return env;
}

/** Runs a healthcheck's exec-form command (`CMD` dropped) as Docker would inside the container; its exit code. */
export function runHealthcheck(argv: string[], env: Record<string, string>): number | null {
  const [program, ...args] = argv[0] === 'CMD' ? argv.slice(1) : argv;
  const r = spawnSync(program === 'node' ? process.execPath : program!, args, { env: { PATH: process.env.PATH, ...env }, timeout: 10_000 });
  return r.status;
}

/** One compose service run as a native process: the image's ENTRYPOINT + the service's command. */
export class ServiceProcess {
  output = '';
  private proc?: ChildProcess;
  exitCode: number | null = null;

  constructor(
    readonly argv: string[],
    readonly env: Record<string, string>,
  ) {}

  start(): ChildProcess {
    const [program, ...args] = this.argv;
    // `node` in the image is this machine's node; nothing of the test runner's environment leaks in.
    const proc = spawn(program === 'node' ? process.execPath : program!, args, {
      cwd: root,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...this.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.proc = proc;
    proc.stdout!.on('data', (d: Buffer) => (this.output += d.toString()));
    proc.stderr!.on('data', (d: Buffer) => (this.output += d.toString()));
    proc.once('exit', (code, signal) => (this.exitCode = code ?? (signal ? 128 : 0)));
    return proc;
  }

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  async waitFor(text: string, what: string, timeoutMs = 90_000): Promise<void> {
    await eventually(async () => {
      if (this.exitCode !== null) throw new Error(`${what}: exited with ${this.exitCode}: ${this.output.slice(-2000)}`);
      return this.output.includes(text);
    }, timeoutMs, what);
  }

  async exited(timeoutMs = 120_000): Promise<number> {
    return eventually(async () => (this.exitCode === null ? undefined : { code: this.exitCode }), timeoutMs, 'the process to exit').then((r) => r.code);
  }

  async stop(): Promise<number | null> {
    const proc = this.proc;
    if (!proc || this.exitCode !== null) return this.exitCode;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 20_000);
    await exited;
    clearTimeout(timer);
    return this.exitCode;
  }
}

/** The variables a configuration schema requires: what a deployment must set. */
export function requiredVariables(schema: z.ZodObject): string[] {
  try {
    parseEnv(schema, {});
    return [];
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.problems.filter((p) => p.endsWith(': is required')).map((p) => p.split(':')[0]!);
  }
}
