import { existsSync } from 'node:fs';
import { Client, Connection } from '@temporalio/client';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import { NativeConnection, type NativeConnectionOptions } from '@temporalio/worker';
import { ConfigError } from './config.js';
import type { Logger } from './logger.js';

// Where Temporal is and how to reach it come from @temporalio/envconfig: its environment
// variables (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS_*,
// TEMPORAL_PROFILE, TEMPORAL_CONFIG_FILE, TEMPORAL_GRPC_META_*) over a profile of its TOML file
// (TEMPORAL_CONFIG_FILE, else ~/.config/temporalio/temporal.toml when present), exactly as the
// Temporal CLI and the other SDKs read them.

/** The environment (or a parsed configuration): only its string TEMPORAL_* entries are read. */
export type TemporalSettings = Record<string, unknown>;

export interface TemporalTarget {
  connectionOptions: NativeConnectionOptions & { address: string };
  namespace: string;
}

/** The variables envconfig reads: TEMPORAL_* (empty means unset, as everywhere else) and where the default file is. */
function envconfigEnv(s: TemporalSettings): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(s)) {
    if (name.startsWith('TEMPORAL_') && typeof value === 'string' && value !== '') env[name] = value;
  }
  for (const name of ['HOME', 'XDG_CONFIG_HOME', 'APPDATA']) {
    const value = process.env[name];
    if (value) env[name] ??= value;
  }
  return env;
}

function firstLine(err: unknown): string {
  return String((err as Error)?.message ?? err).split('\n')[0]!.trim();
}

function problemLine(err: unknown, file: string | undefined): string {
  const path = (err as NodeJS.ErrnoException).path;
  // envconfig reads the certificate and key files while it builds the options.
  if (path && path !== file) return `TEMPORAL_TLS: cannot read ${path} (${(err as NodeJS.ErrnoException).code})`;
  return `TEMPORAL_CONFIG_FILE: ${file ?? '~/.config/temporalio/temporal.toml'}: ${firstLine(err)}`;
}

/**
 * The connection options and namespace for `s`. A profile file that is named but missing or
 * unreadable, a profile it does not hold, or no address anywhere is a ConfigError of one line.
 */
export function temporalTarget(s: TemporalSettings): TemporalTarget {
  const env = envconfigEnv(s);
  const file = env.TEMPORAL_CONFIG_FILE;
  if (file !== undefined && !existsSync(file)) {
    throw new ConfigError([`TEMPORAL_CONFIG_FILE: ${file} does not exist`]);
  }
  let config;
  try {
    config = loadClientConnectConfig({ overrideEnvVars: env, configFileStrict: true });
  } catch (err) {
    throw new ConfigError([problemLine(err, file)]);
  }
  const { address, ...rest } = config.connectionOptions;
  if (!address) {
    throw new ConfigError(['TEMPORAL_ADDRESS: is required (or an address in the Temporal profile)']);
  }
  const options = Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined));
  return { connectionOptions: { address, ...options }, namespace: config.namespace ?? 'default' };
}

/** A client of the Temporal in `s`; `connectTimeoutMs` bounds the first connection (the SDK's default: 10 s). */
export async function connectClient(s: TemporalSettings, connectTimeoutMs?: number): Promise<Client> {
  const target = temporalTarget(s);
  const connection = await Connection.connect({ ...target.connectionOptions, ...(connectTimeoutMs ? { connectTimeout: connectTimeoutMs } : {}) });
  return new Client({ connection, namespace: target.namespace });
}

export async function connectWorker(s: TemporalSettings): Promise<NativeConnection> {
  return NativeConnection.connect(temporalTarget(s).connectionOptions);
}

/** Temporal did not answer within the wait at start. */
class TemporalUnreachable extends Error {
  override name = 'TemporalUnreachable';
}

/** The reason in a connection error, without the transport's wrapping (`Connection refused`). */
function connectProblem(err: unknown): string {
  const line = firstLine(err);
  return /message: "([^"]+)"/.exec(line)?.[1] ?? line;
}

/**
 * `connect`, tried again every 2 s while Temporal does not answer (a server starting beside this
 * process, a cluster being rolled), each failure a warning; after `waitSeconds` (0: one try), a
 * TemporalUnreachable of one line that names the address. `connect` gets how long one try may
 * take: 2 s, then twice as long each time up to 10 s (a slow link still gets its long tries), never
 * past the end of the wait by more than a second.
 */
async function untilTemporalAnswers<T>(
  connect: (timeoutMs: number) => Promise<T>,
  o: { address: string; waitSeconds: number; warn: (message: string) => void },
): Promise<T> {
  const deadline = Date.now() + o.waitSeconds * 1000;
  for (let tryMs = 2000; ; tryMs = Math.min(10_000, tryMs * 2)) {
    try {
      return await connect(Math.min(tryMs, Math.max(1000, deadline - Date.now())));
    } catch (err) {
      const problem = connectProblem(err);
      const left = deadline - Date.now();
      if (left <= 0) throw new TemporalUnreachable(`cannot reach Temporal at ${o.address}: ${problem}`);
      o.warn(`waiting for Temporal at ${o.address}: ${problem}; trying again for up to ${Math.ceil(left / 1000)} s`);
      await new Promise((r) => setTimeout(r, Math.min(2000, left)));
    }
  }
}

/** For an entry point: `untilTemporalAnswers`, and when Temporal never answered, one fatal log line and exit 1. */
export async function connectAtStart<T>(
  connect: (timeoutMs: number) => Promise<T>,
  o: { address: string; waitSeconds: number; logger: Pick<Logger, 'warn' | 'fatal'> },
): Promise<T> {
  try {
    return await untilTemporalAnswers(connect, { ...o, warn: (m) => o.logger.warn(m) });
  } catch (err) {
    if (!(err instanceof TemporalUnreachable)) throw err;
    o.logger.fatal(err.message);
    process.exit(1);
  }
}

/**
 * Temporal could not be reached (gRPC UNAVAILABLE, status 14, after the client's own retries):
 * on the error or its cause, as the client's ServiceError wraps it.
 */
export function isTemporalUnavailable(err: unknown): boolean {
  for (let e = err as { code?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 3; e = e.cause as typeof e, depth++) {
    if (e.code === 14) return true;
  }
  return false;
}
