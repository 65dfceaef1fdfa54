import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import type { Express } from 'express';
import { createApp } from '../../src/api/app.js';
import type { AppDeps } from '../../src/api/deps.js';
import { createSql, type Sql } from '../../src/db/sql.js';
import { startEmbeddedPostgres } from '../../src/dev/postgres.js';
import { createLogger } from '../../src/logger.js';
import type { ApiResponse } from './harness.js';
import { apiClient, listenLocally } from './http.js';
import { createMigratedDatabase } from './migrated-database.js';

// The fast route tier: the real express app over a real PostgreSQL (the shared one under
// `npm test`, else one of its own), with a stub in place of the Temporal client, so route rules
// are checked in seconds without a Temporal server or a worker.

const FAST_API_KEY = 'fast-tier-key-0123456789';

/** What the stub Temporal client was asked, and how it answers Updates. */
interface TemporalStub {
  client: Client;
  started: { workflowId: string }[];
  /** The Updates asked for, in order: the workflow, the Update's name and its id. */
  updates: { workflowId: string; name: string; updateId: string | undefined }[];
  /** The next Updates' answer: a status, or an error to throw (a refusal, a timeout). */
  answerUpdates(answer: { status: string } | Error): void;
}

function temporalStub(): TemporalStub {
  const started: { workflowId: string }[] = [];
  const updates: TemporalStub['updates'] = [];
  let answer: { status: string } | Error = new Error('no Update answer set in this test');
  const client = {
    options: { namespace: 'default' },
    connection: {
      withDeadline: <T>(_deadline: number, fn: () => Promise<T>) => fn(),
      operatorService: { listSearchAttributes: () => Promise.resolve({ customAttributes: {} }) },
      workflowService: { getSystemInfo: () => Promise.resolve({}) },
    },
    workflow: {
      start: (_type: string, o: { workflowId: string }) => {
        started.push({ workflowId: o.workflowId });
        return Promise.resolve({ workflowId: o.workflowId });
      },
      // As the client does: an Update the workflow refused is accepted by the server and fails in
      // its result(); an error before that (no worker in time, no server) fails startUpdate.
      getHandle: (workflowId: string) => ({
        startUpdate: (def: string | { name: string }, o: { updateId?: string }) => {
          updates.push({ workflowId, name: typeof def === 'string' ? def : def.name, updateId: o.updateId });
          return answer instanceof Error && !(answer instanceof WorkflowUpdateFailedError)
            ? Promise.reject(answer)
            : Promise.resolve({ result: () => (answer instanceof Error ? Promise.reject(answer) : Promise.resolve(answer)) });
        },
      }),
    },
  };
  return { client: client as unknown as Client, started, updates, answerUpdates: (a) => (answer = a) };
}

export interface FastApp {
  /** The express app, to read its route table. */
  app: Express;
  sql: Sql;
  temporal: TemporalStub;
  api<T = any>(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<ApiResponse<T>>;
  close(): Promise<void>;
}

/** A database of its own on the shared PostgreSQL, or on one started here (and stopped by close). */
async function database(): Promise<{ url: string; stop(): Promise<void> }> {
  let adminUrl = process.env.CM_TEST_PG_ADMIN_URL;
  let stop = () => Promise.resolve();
  if (!adminUrl) {
    const root = await mkdtemp(join(tmpdir(), 'campaign-mailer-fast-'));
    await chmod(root, 0o755); // embedded PostgreSQL runs as another user when we are root
    const pg = await startEmbeddedPostgres({ dir: join(root, 'postgres'), port: 'free', database: 'postgres' });
    adminUrl = pg.adminUrl;
    stop = async () => {
      await pg.stop();
      await rm(root, { recursive: true, force: true });
    };
  }
  const name = `fast_${randomBytes(5).toString('hex')}`;
  const url = await createMigratedDatabase(adminUrl, name);
  return { url, stop };
}

export async function startFastApp(settings: Partial<AppDeps> = {}): Promise<FastApp> {
  const db = await database();
  const sql = createSql(db.url);
  const temporal = temporalStub();
  const app = createApp({
    sql,
    client: temporal.client,
    apiKey: FAST_API_KEY,
    taskQueue: 'fast-tier',
    namespace: 'default',
    logger: createLogger('fast-tier', process.env.TEST_LOG_LEVEL ?? 'silent'),
    ...settings,
  });
  const { baseUrl, close: stopServing } = await listenLocally(app);
  return {
    app,
    sql,
    temporal,
    api: apiClient(baseUrl, FAST_API_KEY),
    async close() {
      await stopServing();
      await sql.end();
      await db.stop();
    },
  };
}
