import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { ImapFlow } from 'imapflow';
import { TcpProxy } from './tcp-proxy.js';
import { createApp } from '../../src/api/app.js';
import { createMetrics, serveMetrics } from '../../src/metrics.js';
import { parseEnv, workerEnvSchema } from '../../src/config.js';
import { ensureAppLogin } from '../../src/db/migrate.js';
import { createSql, type Sql } from '../../src/db/sql.js';
import { SmtpSink } from '../../src/dev/smtp-sink.js';
import { createLogger } from '../../src/logger.js';
import { createWorker, type CampaignWorker } from '../../src/worker/create.js';
import { createWorkerDeps } from '../../src/worker/deps.js';
import { createS3Store } from '../../src/s3/client.js';
import { apiClient, listenLocally } from './http.js';
import { createMigratedDatabase } from './migrated-database.js';

// Each test file gets its own database, SMTP sink, IMAP user, task queue, worker and API on the
// shared real servers that `npm test` started.

let runtimeInstalled = false;

function testEnv() {
  const need = (name: string) => {
    const v = process.env[name];
    if (!v) throw new Error(`${name} is not set: run the tests with \`npm test\`, which starts the servers they use`);
    return v;
  };
  return {
    temporalAddress: need('CM_TEST_TEMPORAL_ADDRESS'),
    pgAdminUrl: need('CM_TEST_PG_ADMIN_URL'),
    imapPort: Number(need('CM_TEST_IMAP_PORT')),
    imapPassword: need('CM_TEST_IMAP_PASSWORD'),
    s3Endpoint: need('CM_TEST_S3_ENDPOINT'),
    bundlePath: process.env.WORKFLOW_BUNDLE_PATH,
  };
}

export const API_KEY = 'test-key-0123456789abcdef';
/** Seals account passwords in tests (32 bytes, hex). */
export const TEST_MASTER_KEY = '00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff';

export interface ApiResponse<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

export interface Harness {
  sql: Sql;
  client: Client;
  sink: SmtpSink;
  taskQueue: string;
  imapUser: string;
  /** The in-process worker, unless `inProcessWorker: false`. */
  worker?: CampaignWorker;
  baseUrl: string;
  app: Express;
  /** The configuration of this harness's worker, to start more worker processes with. */
  workerEnv: Record<string, string>;
  /** GET /metrics of this harness's in-process worker and API (one registry, as in the dev stack). */
  metricsUrl: string;
  /** A bucket of this test file's own on the shared S3 server. */
  bucket: string;
  /** Writes an object into `bucket` (or another bucket of this test file). */
  putObject(key: string, body: string | Buffer, bucket?: string): Promise<void>;
  s3: S3Client;
  imapProxy?: TcpProxy;
  api<T = any>(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<ApiResponse<T>>;
  /** Every message in the IMAP user's Sent folder, read through a separate IMAP session. */
  sentFolder(): Promise<{ messageId: string; raw: Buffer; flags: Set<string>; internalDate: Date }[]>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  /** Sent copies on (default) or off. */
  imap?: boolean;
  /** Route IMAP through a proxy the test can cut, to simulate an outage. */
  imapProxy?: boolean;
  /** Extra worker configuration (SMTP_MAX_CONNECTIONS, SMTP_MESSAGES_PER_MINUTE, …). */
  env?: Record<string, string>;
  /** Run a worker in this process (default true); otherwise tests spawn worker processes. */
  inProcessWorker?: boolean;
  /** A Temporal server of the test's own instead of the shared one. */
  temporalAddress?: string;
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const env = { ...testEnv(), ...(options.temporalAddress ? { temporalAddress: options.temporalAddress } : {}) };
  if (!runtimeInstalled) {
    try {
      Runtime.install({ logger: new DefaultLogger((process.env.TEST_TEMPORAL_LOG_LEVEL as 'ERROR' | undefined) ?? 'ERROR') });
    } catch {
      // a test that started its own Temporal server already has a runtime: keep its logger
    }
    runtimeInstalled = true;
  }
  const tag = randomBytes(5).toString('hex');
  const dbName = `test_${tag}`;
  const databaseUrl = await createMigratedDatabase(env.pgAdminUrl, dbName);
  // The schema is the owner's; the worker and the API run as the application's role, as in dev.
  const appDatabaseUrl = await ensureAppLogin(databaseUrl, { user: 'campaign_mailer_test_app', password: 'test-app-password' });

  const sink = new SmtpSink();
  await sink.start(0);
  const imapUser = `user-${tag}`;
  const taskQueue = `test-${tag}`;
  const logger = createLogger('test', process.env.TEST_LOG_LEVEL ?? 'silent');

  const bucket = `bucket-${tag}`;
  const s3 = new S3Client({
    endpoint: env.s3Endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));

  const imapProxy = options.imapProxy ? await TcpProxy.start(env.imapPort) : undefined;
  const workerEnv: Record<string, string> = {
    TEMPORAL_ADDRESS: env.temporalAddress,
    TEMPORAL_TASK_QUEUE: taskQueue,
    DATABASE_URL: appDatabaseUrl,
    SMTP_URL: `smtp://127.0.0.1:${sink.port}`,
    ...(options.imap === false
      ? {}
      : { IMAP_URL: `imap://${imapUser}:${env.imapPassword}@127.0.0.1:${imapProxy?.port ?? env.imapPort}` }),
    MASTER_KEY: TEST_MASTER_KEY,
    S3_ENDPOINT: env.s3Endpoint,
    S3_ACCESS_KEY_ID: 'test',
    S3_SECRET_ACCESS_KEY: 'test',
    S3_FORCE_PATH_STYLE: 'true',
    // The sink and Dovecot listen on loopback, and so do the accounts the tests store.
    ALLOW_PRIVATE_HOSTS: 'loopback',
    // Tenant `default` reads this test file's bucket; other tenants get theirs from PUT /tenants/:tenant.
    S3_ALLOWED_LOCATIONS: bucket,
    ...options.env,
  };
  const workerConfig = parseEnv(workerEnvSchema, workerEnv);
  const metrics = createMetrics();
  const metricsServer = await serveMetrics(metrics, 0, '127.0.0.1');
  const deps = createWorkerDeps(workerConfig, logger, metrics);
  const nativeConnection = await NativeConnection.connect({ address: env.temporalAddress });
  let worker: CampaignWorker | undefined;
  let workerRun: Promise<void> = Promise.resolve();
  if (options.inProcessWorker !== false) {
    worker = await createWorker({
      connection: nativeConnection,
      namespace: 'default',
      taskQueue,
      deps,
      workflowBundlePath: env.bundlePath,
    });
    workerRun = worker.run();
  }

  const connection = await Connection.connect({ address: env.temporalAddress });
  const client = new Client({ connection, namespace: 'default' });
  const sql = createSql(databaseUrl, { max: 3 });
  const apiSql = createSql(appDatabaseUrl, { max: 3 });
  const apiS3 = createS3Store(workerConfig);
  const app = createApp({
    sql: apiSql,
    client,
    apiKey: API_KEY,
    taskQueue,
    namespace: 'default',
    masterKey: TEST_MASTER_KEY,
    logger,
    // The API of an installation is configured as its worker is: the same limits, link keys and Message-ID keys.
    templates: deps.templates,
    unsubscribeLinks: deps.unsubscribeLinks,
    messageIds: deps.messageIds,
    s3: apiS3,
    s3Locations: workerConfig.S3_ALLOWED_LOCATIONS,
    metrics,
    allowPrivateHosts: workerConfig.ALLOW_PRIVATE_HOSTS,
    // Tests poll with the one admin key, several campaigns at once, on a busy machine, and check
    // refusals of wrong keys on every route: the request budgets and the preview's render budget
    // are tested on their own (api-limits, template-limits).
    limits: { requestsPerMinute: 1_000_000, requestsPerTenantPerMinute: 1_000_000, authFailuresPerMinute: 1_000_000, publicRequestsPerMinute: 1_000_000, previewRenderMs: 1000 },
  });
  const { baseUrl, close: stopServing } = await listenLocally(app);

  return {
    sql,
    client,
    sink,
    taskQueue,
    imapUser,
    worker,
    baseUrl,
    app,
    workerEnv,
    imapProxy,
    metricsUrl: `http://127.0.0.1:${(metricsServer.address() as AddressInfo).port}/metrics`,
    bucket,
    s3,
    async putObject(key, body, inBucket = bucket) {
      await s3.send(new PutObjectCommand({ Bucket: inBucket, Key: key, Body: body }));
    },
    api: apiClient(baseUrl, API_KEY),
    async sentFolder() {
      const imap = new ImapFlow({
        host: '127.0.0.1',
        port: env.imapPort,
        secure: false,
        auth: { user: imapUser, pass: env.imapPassword },
        logger: false,
      });
      await imap.connect();
      try {
        const lock = await imap.getMailboxLock('Sent');
        try {
          const out: { messageId: string; raw: Buffer; flags: Set<string>; internalDate: Date }[] = [];
          if (!imap.mailbox || imap.mailbox.exists === 0) return out;
          for await (const m of imap.fetch('1:*', { source: true, flags: true, internalDate: true, envelope: true })) {
            out.push({
              messageId: m.envelope?.messageId ?? '',
              raw: m.source!,
              flags: m.flags ?? new Set(),
              internalDate: new Date(m.internalDate!),
            });
          }
          return out;
        } finally {
          lock.release();
        }
      } finally {
        await imap.logout();
      }
    },
    async close() {
      await stopServing();
      await new Promise((r) => metricsServer.close(r));
      if (worker && worker.getState() === 'RUNNING') worker.shutdown();
      await workerRun;
      await imapProxy?.close();
      await deps.close();
      await nativeConnection.close();
      await connection.close();
      await sql.end({ timeout: 5 });
      await apiSql.end({ timeout: 5 });
      await sink.stop();
      apiS3.close();
      s3.destroy();
    },
  };
}

/** Polls `fn` until it returns a value other than undefined/false, or fails after `timeoutMs`. */
export async function eventually<T>(fn: () => Promise<T | undefined | false>, timeoutMs = 30_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v as T;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Creates an API key through the API (as the configured admin key) and answers its secret. */
export async function createKey(h: Harness, o: { name: string; scopes: string[]; tenant?: string }): Promise<{ id: string; key: string; principal: string }> {
  const res = await h.api('POST', '/api/v1/keys', o);
  if (res.status !== 201) throw new Error(`creating key ${o.name}: ${res.status} ${JSON.stringify(res.body)}`);
  return { id: res.body.id, key: res.body.key, principal: res.body.principal };
}

export const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

/** What a tenant other than `default` needs to send through the installation's `default` account (an admin setting). */
export const DEFAULT_ACCOUNT_ALLOWED = { defaultAccount: { allowed: true } } as const;

/** Lets a tenant send through the `default` account; `settings` are the rest of what PUT /tenants replaces. */
export async function allowDefaultAccount(h: Harness, tenant: string, settings: Record<string, unknown> = {}): Promise<void> {
  const res = await h.api('PUT', `/api/v1/tenants/${tenant}`, { ...DEFAULT_ACCOUNT_ALLOWED, ...settings });
  if (res.status !== 200) throw new Error(`settings of tenant ${tenant}: ${res.status} ${JSON.stringify(res.body)}`);
}
