import { existsSync } from 'node:fs';
import { Client, Connection } from '@temporalio/client';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import { NativeConnection, type NativeConnectionOptions } from '@temporalio/worker';
import { ConfigError } from './config.js';

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

export async function connectClient(s: TemporalSettings): Promise<Client> {
  const target = temporalTarget(s);
  const connection = await Connection.connect(target.connectionOptions);
  return new Client({ connection, namespace: target.namespace });
}

export async function connectWorker(s: TemporalSettings): Promise<NativeConnection> {
  return NativeConnection.connect(temporalTarget(s).connectionOptions);
}
