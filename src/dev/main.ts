// `npm run dev`: the whole product on one machine. Every part that is not configured through
// the environment is started locally on embedded defaults, with its data under .data/dev.
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Server } from 'node:http';
import { Runtime } from '@temporalio/worker';
import { appSettingsFrom, createApp } from '../api/app.js';
import { apiEnvSchema, ConfigError, parseEnv, workerEnvSchema } from '../config.js';
import { ensureAppLogin, migrate } from '../db/migrate.js';
import { createSql } from '../db/sql.js';
import { createLogger } from '../logger.js';
import { createMetrics, serveMetrics } from '../metrics.js';
import { connectClient, connectWorker } from '../temporal.js';
import { createWorker } from '../worker/create.js';
import { ensureBounceSchedules } from '../bounces/schedule.js';
import { createWorkerDeps } from '../worker/deps.js';
import { createS3Store } from '../s3/client.js';
import { postgresDataDir, reachableDataDir } from './data-dir.js';
import { DOVECOT_HOW_TO, findDovecot, startDovecot } from './dovecot.js';
import { motoServerPath, startMoto } from './moto.js';
import { freePort } from './ports.js';
import { startEmbeddedPostgres } from './postgres.js';
import { persistedSecret } from './secrets.js';
import { SmtpSink } from './smtp-sink.js';
import { resolveTemporalCli, startTemporalDevServer } from './temporal.js';

const dataDir = resolve(process.env.DATA_DIR ?? '.data/dev');
const say = (line: string) => process.stdout.write(`${line}\n`);
const stops: { name: string; stop: () => Promise<unknown> | unknown }[] = [];
const env: Record<string, string | undefined> = { ...process.env };
const lines: string[] = [];

async function main(): Promise<void> {
  // This process stops its parts itself, in order (API, worker, then the servers), on Ctrl+C.
  Runtime.install({ shutdownSignals: [] });
  say(`Campaign Mailer dev stack; data in ${dataDir}`);
  await mkdir(dataDir, { recursive: true });

  // Temporal: the real server from the Temporal CLI, persisted to SQLite, with its Web UI.
  let temporalUi = env.TEMPORAL_UI_URL;
  if (!env.TEMPORAL_ADDRESS) {
    const cli = await part('Temporal', () => resolveTemporalCli(say, { build: true }));
    const port = await freePort(7233);
    const uiPort = await freePort(8233);
    const server = await part('Temporal', () => startTemporalDevServer({ cli, port, uiPort, dbFile: join(dataDir, 'temporal.sqlite') }));
    stops.push({ name: 'Temporal dev server', stop: server.stop });
    env.TEMPORAL_ADDRESS = server.address;
    temporalUi = server.uiUrl;
    env.TEMPORAL_UI_URL = temporalUi;
    lines.push(`Temporal        ${server.address} (dev server, CLI from ${cli.origin})`);
  } else {
    lines.push(`Temporal        ${env.TEMPORAL_ADDRESS} (TEMPORAL_ADDRESS)`);
  }
  if (temporalUi) lines.push(`Temporal UI     ${temporalUi}`);

  // PostgreSQL: embedded, migrated by dbmate as the owner; worker and API log in as the
  // application's role, which cannot change or erase the audit log.
  let embeddedOwnerUrl: string | undefined;
  if (!env.DATABASE_URL) {
    const port = await freePort(5433);
    const db = await part('PostgreSQL', () =>
      startEmbeddedPostgres({ dir: postgresDataDir(join(dataDir, 'postgres')), port, database: 'campaign_mailer' }),
    );
    stops.push({ name: 'PostgreSQL', stop: db.stop });
    env.DATABASE_URL = db.url;
    embeddedOwnerUrl = db.url;
    lines.push(`PostgreSQL      ${db.url.replace(/:[^:@/]+@/, ':***@')} (embedded)`);
  } else {
    lines.push('PostgreSQL      from DATABASE_URL');
  }
  await part('PostgreSQL migrations', () => migrate(env.DATABASE_URL!));
  if (embeddedOwnerUrl) {
    env.DATABASE_URL = await ensureAppLogin(embeddedOwnerUrl, { user: 'campaign_mailer_app_login', password: await persistedSecret(join(dataDir, 'app-db-password')) });
  }

  // SMTP: a local sink that keeps every message as an .eml file.
  if (!env.SMTP_URL) {
    const sink = new SmtpSink({ dir: join(dataDir, 'sink') });
    const sinkPort = await freePort(2525);
    await part('SMTP sink', () => sink.start(sinkPort));
    stops.unshift({ name: 'SMTP sink', stop: () => sink.stop() });
    env.SMTP_URL = `smtp://127.0.0.1:${sink.port}`;
    lines.push(`SMTP            smtp://127.0.0.1:${sink.port} (sink: every message is kept in ${join(dataDir, 'sink')}, nothing is delivered)`);
  } else {
    lines.push('SMTP            from SMTP_URL');
  }

  // IMAP: a local Dovecot for Sent copies when one is installed.
  if (!env.IMAP_URL) {
    const binary = findDovecot();
    if (binary) {
      const imapPort = await freePort(1143);
      const password = await persistedSecret(join(dataDir, 'imap-password'));
      // Dovecot keeps mail as the `dovecot` user when root: the folder must be one it can reach.
      const imap = await part('Dovecot', () => startDovecot({ binary, dir: reachableDataDir(join(dataDir, 'dovecot')), port: imapPort, password }));
      stops.unshift({ name: 'Dovecot', stop: imap.stop });
      env.IMAP_URL = imap.url('campaigns');
      lines.push(`IMAP            imap://campaigns:***@127.0.0.1:${imap.port} (Dovecot; password in ${join(dataDir, 'imap-password')})`);
    } else {
      lines.push(`IMAP            Sent copies are OFF: no IMAP server. To turn them on, ${DOVECOT_HOW_TO}.`);
    }
  } else {
    lines.push('IMAP            from IMAP_URL');
  }

  // S3: moto's S3-compatible server when it is installed (npm test installs it), for attachments
  // and recipient lists; otherwise whatever S3_* says, or the AWS defaults.
  if (!env.S3_ENDPOINT) {
    if (existsSync(motoServerPath())) {
      const motoPort = await freePort(5000);
      const s3 = await part('S3 (moto)', () => startMoto({ binary: motoServerPath(), port: motoPort }));
      stops.push({ name: 'moto', stop: s3.stop });
      env.S3_ENDPOINT = s3.endpoint;
      env.S3_ACCESS_KEY_ID ??= s3.accessKeyId;
      env.S3_SECRET_ACCESS_KEY ??= s3.secretAccessKey;
      env.S3_FORCE_PATH_STYLE ??= 'true';
      lines.push(`S3              ${s3.endpoint} (moto, in memory: objects are lost when dev stops)`);
    } else {
      lines.push('S3              AWS defaults. For another store set S3_ENDPOINT, S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY, S3_FORCE_PATH_STYLE=true (npm test installs moto, which dev then uses)');
    }
  } else {
    lines.push('S3              from S3_ENDPOINT');
  }

  let apiKeyOrigin = 'API_KEY';
  if (!env.API_KEY) {
    env.API_KEY = await persistedSecret(join(dataDir, 'api-key'));
    apiKeyOrigin = `generated, kept in ${join(dataDir, 'api-key')}`;
  }
  env.PORT ??= String(await freePort(3000));
  env.METRICS_PORT ??= String(await freePort(9464));
  // One-click unsubscribe links point at the local API.
  env.PUBLIC_URL ??= `http://${env.HOST ?? '127.0.0.1'}:${env.PORT}`;
  // The embedded SMTP sink and Dovecot listen on loopback; accounts made in dev point there too.
  env.ALLOW_PRIVATE_HOSTS ??= 'loopback';
  env.MASTER_KEY ??= Buffer.from(await persistedSecret(join(dataDir, 'master-key'), 32), 'base64url').toString('base64');

  const workerConfig = parseEnv(workerEnvSchema, env);
  const apiConfig = parseEnv(apiEnvSchema, env);

  const workerLogger = createLogger('worker', workerConfig.LOG_LEVEL);
  // One process, one registry: the worker's and the API's figures on one /metrics.
  const metrics = createMetrics();
  const metricsServer = await serveMetrics(metrics, workerConfig.METRICS_PORT!, workerConfig.METRICS_HOST);
  stops.unshift({ name: 'metrics', stop: () => new Promise((r) => metricsServer.close(r)) });
  const deps = createWorkerDeps(workerConfig, workerLogger, metrics);
  const connection = await connectWorker(workerConfig);
  const worker = await createWorker({
    connection,
    namespace: workerConfig.TEMPORAL_NAMESPACE,
    taskQueue: workerConfig.TEMPORAL_TASK_QUEUE,
    deps,
  });
  const workerRun = worker.run();
  stops.unshift({
    name: 'worker',
    stop: async () => {
      worker.shutdown();
      await workerRun;
      await deps.close();
      await connection.close();
    },
  });

  const apiLogger = createLogger('api', apiConfig.LOG_LEVEL);
  const sql = createSql(apiConfig.DATABASE_URL);
  const client = await connectClient(apiConfig);
  const apiS3 = createS3Store(apiConfig);
  // The bounce check Schedules, as `npm run worker` makes them at start.
  await ensureBounceSchedules({ client, sql: deps.sql, taskQueue: workerConfig.TEMPORAL_TASK_QUEUE, defaultImap: !!workerConfig.IMAP_URL, logger: workerLogger });
  const app = createApp({
    sql,
    client,
    apiKey: apiConfig.API_KEY,
    taskQueue: apiConfig.TEMPORAL_TASK_QUEUE,
    namespace: apiConfig.TEMPORAL_NAMESPACE,
    temporalUiUrl: apiConfig.TEMPORAL_UI_URL,
    masterKey: apiConfig.MASTER_KEY,
    logger: apiLogger,
    s3: apiS3,
    s3Locations: apiConfig.S3_ALLOWED_LOCATIONS,
    metrics,
    ...appSettingsFrom(apiConfig),
  });
  const server: Server = await new Promise((ok) => {
    const s = app.listen(apiConfig.PORT, apiConfig.HOST, () => ok(s));
  });
  stops.unshift({
    name: 'API',
    stop: async () => {
      await new Promise((r) => server.close(r));
      await client.connection.close();
      await sql.end({ timeout: 5 });
    },
  });

  lines.unshift(`API             http://${apiConfig.HOST}:${apiConfig.PORT}/api/v1`);
  lines.unshift(`Console         http://${apiConfig.HOST}:${apiConfig.PORT}/ (sign in with the API key below)`);
  lines.push(`API key         ${apiConfig.API_KEY} (${apiKeyOrigin})`);
  lines.push(`Worker          polling task queue "${workerConfig.TEMPORAL_TASK_QUEUE}"`);
  lines.push(`Metrics         http://${workerConfig.METRICS_HOST}:${workerConfig.METRICS_PORT}/metrics (Prometheus)`);
  say('');
  for (const line of lines) say(`  ${line}`);
  say('');
  say(`Try: curl -H "Authorization: Bearer ${apiConfig.API_KEY}" http://${apiConfig.HOST}:${apiConfig.PORT}/readyz`);
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
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) say(`still stopping (${signal} ignored)`);
    else void shutdown(0);
  });
}

/** A part that cannot start says so in one line naming it, never with a stack trace. */
class PartError extends Error {}
async function part<T>(name: string, start: () => Promise<T>): Promise<T> {
  try {
    return await start();
  } catch (err) {
    throw new PartError(`${name} cannot start: ${oneLine(err)}`);
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
