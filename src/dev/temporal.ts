import { execFile, spawn } from 'node:child_process';
import { existsSync, type WriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { Connection } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { SearchAttributeType } from '@temporalio/common';
import type { SearchAttributeKey } from '@temporalio/common/lib/search-attributes.js';

import { CAMPAIGN_SEARCH_ATTRIBUTES } from '../contract/search-attributes.js';

const run = promisify(execFile);

/** The Temporal CLI release built from source when no `temporal` binary is around. */
const TEMPORAL_CLI_MODULE = 'github.com/temporalio/cli/cmd/temporal@v1.5.1';

export const cacheDir = () =>
  process.env.CAMPAIGN_MAILER_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'campaign-mailer');

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, name);
    if (dir && existsSync(candidate)) return candidate;
  }
  return undefined;
}

export type TemporalCli = { path: string; origin: string } | { path: undefined; origin: string };

/**
 * Finds the Temporal CLI: $TEMPORAL_CLI, `temporal` on PATH, the project's cache, or, when Go is
 * installed, a build of the CLI into that cache. Without any of these the SDK downloads it.
 */
export async function resolveTemporalCli(log: (line: string) => void, options: { build: boolean }): Promise<TemporalCli> {
  const fromEnv = process.env.TEMPORAL_CLI;
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new Error(`TEMPORAL_CLI: no file at ${fromEnv}`);
    return { path: fromEnv, origin: 'TEMPORAL_CLI' };
  }
  const installed = onPath('temporal');
  if (installed) return { path: installed, origin: 'PATH' };
  const cached = join(cacheDir(), 'bin', 'temporal');
  if (existsSync(cached)) return { path: cached, origin: 'cache' };
  if (options.build && onPath('go')) {
    log(`Building the Temporal CLI (${TEMPORAL_CLI_MODULE}) into ${cached}; this takes a few minutes, once.`);
    await mkdir(join(cacheDir(), 'bin'), { recursive: true });
    try {
      await run('go', ['install', TEMPORAL_CLI_MODULE], {
        env: { ...process.env, GOBIN: join(cacheDir(), 'bin'), CGO_ENABLED: process.env.CGO_ENABLED ?? '0' },
        maxBuffer: 64 * 1024 * 1024,
      });
    } catch (err) {
      const stderr = String((err as { stderr?: string }).stderr ?? '').trim().split('\n').slice(-5).join('\n');
      throw new Error(`building the Temporal CLI with Go failed:\n${stderr}`);
    }
    return { path: cached, origin: 'built with go' };
  }
  return { path: undefined, origin: "the SDK's download" };
}

export interface TemporalDevServer {
  address: string;
  namespace: string;
  uiUrl?: string;
  stop(): Promise<void>;
}

/**
 * How a dev server keeps its SQLite file: in write-ahead-log mode, synced at checkpoints rather
 * than at every commit. SQLite's default (a rollback journal, synced at every commit) holds a
 * campaign's fan-out to the disk's sync rate, several times slower than the same server in
 * memory. With the log, a killed server loses nothing (every commit is written to the file, if
 * not yet synced to the disk, before the server answers), and a power cut can only take the last
 * commits, never corrupt the file; a delivery replayed from earlier state is settled by the
 * ledger in PostgreSQL, so nothing is sent twice.
 */
const SQLITE_FILE_ARGS = ['--sqlite-pragma', 'journal_mode=wal', '--sqlite-pragma', 'synchronous=normal'];

/** Runs `temporal server start-dev` (the real Temporal server with its Web UI). */
export async function startTemporalDevServer(o: {
  cli: TemporalCli;
  port: number;
  uiPort?: number;
  dbFile?: string;
  namespace?: string;
  searchAttributes?: SearchAttributeKey<SearchAttributeType>[];
  /** Where the server's own output goes (the dev stack's log file); else the SDK starts it. */
  log?: WriteStream;
}): Promise<TemporalDevServer> {
  const namespace = o.namespace ?? 'default';
  if (o.log && o.cli.path) {
    // The CLI picks free ports for the server's internal services as it starts; one taken in the
    // meantime by another process ends it at once: a server that exits early is started again once.
    for (let attempt = 1; ; attempt++) {
      try {
        return await startWithLog({ ...o, namespace, path: o.cli.path, log: o.log });
      } catch (err) {
        if (attempt >= 2 || !(err instanceof ExitedEarly)) throw err;
        o.log.write(`\n[dev] temporal server start-dev exited at start (${err.message}); starting it again\n`);
      }
    }
  }
  // The SDK gives the server 5 s to answer; on a loaded 2-core machine its first start can take
  // longer, so a start that times out is tried again before giving up.
  const start = () => TestWorkflowEnvironment.createLocal({
    server: {
      executable: o.cli.path ? { type: 'existing-path', path: o.cli.path } : { type: 'cached-download', downloadDir: join(cacheDir(), 'sdk-download') },
      ip: '127.0.0.1',
      port: o.port,
      ui: o.uiPort !== undefined,
      uiPort: o.uiPort,
      dbFilename: o.dbFile,
      extraArgs: o.dbFile ? SQLITE_FILE_ARGS : [],
      namespace,
      searchAttributes: o.searchAttributes ?? CAMPAIGN_SEARCH_ATTRIBUTES,
      log: { format: 'pretty', level: 'error' },
    },
  });
  let env: TestWorkflowEnvironment | undefined;
  for (let attempt = 1; !env; attempt++) {
    try {
      env = await start();
    } catch (err) {
      if (attempt >= 3 || !/did not start within/.test((err as Error).message)) throw err;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
  const started = env;
  return {
    address: started.address,
    namespace,
    uiUrl: o.uiPort !== undefined ? `http://127.0.0.1:${o.uiPort}` : undefined,
    stop: () => started.teardown(),
  };
}

class ExitedEarly extends Error {
  override name = 'ExitedEarly';
}

const CLI_TYPES: Record<string, string> = { TEXT: 'Text', KEYWORD: 'Keyword', INT: 'Int', DOUBLE: 'Double', BOOL: 'Bool', DATETIME: 'Datetime', KEYWORD_LIST: 'KeywordList' };

/**
 * `temporal server start-dev` as a child of this process with its output in a log file (the SDK's
 * start prints the CLI's banner on our screen), ready when it answers a client.
 */
async function startWithLog(o: { path: string; port: number; uiPort?: number; dbFile?: string; namespace: string; searchAttributes?: SearchAttributeKey<SearchAttributeType>[]; log: WriteStream }): Promise<TemporalDevServer> {
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(o.port), '--namespace', o.namespace, '--log-format', 'pretty', '--log-level', 'warn'];
  if (o.uiPort !== undefined) args.push('--ui-port', String(o.uiPort));
  else args.push('--headless');
  if (o.dbFile) args.push('--db-filename', o.dbFile, ...SQLITE_FILE_ARGS);
  for (const a of o.searchAttributes ?? CAMPAIGN_SEARCH_ATTRIBUTES) args.push('--search-attribute', `${a.name}=${CLI_TYPES[a.type]}`);
  const proc = spawn(o.path, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  proc.stdout.pipe(o.log, { end: false });
  proc.stderr.pipe(o.log, { end: false });
  const exited = new Promise<number | null>((ok) => proc.once('exit', ok));
  const address = `127.0.0.1:${o.port}`;
  const giveUpAt = Date.now() + 60_000;
  for (;;) {
    const early = await Promise.race([exited, new Promise<'running'>((ok) => setTimeout(() => ok('running'), 250))]);
    if (early !== 'running') throw new ExitedEarly(`temporal server start-dev exited with ${early}; see ${o.log.path}`);
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1000 });
      try {
        await connection.workflowService.describeNamespace({ namespace: o.namespace });
        break;
      } finally {
        await connection.close();
      }
    } catch (err) {
      if (Date.now() > giveUpAt) {
        proc.kill('SIGKILL');
        throw new Error(`temporal server start-dev did not answer within 60 s: ${(err as Error).message}`);
      }
    }
  }
  return {
    address,
    namespace: o.namespace,
    uiUrl: o.uiPort !== undefined ? `http://127.0.0.1:${o.uiPort}` : undefined,
    async stop() {
      proc.kill('SIGTERM');
      const killer = setTimeout(() => proc.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(killer);
    },
  };
}
