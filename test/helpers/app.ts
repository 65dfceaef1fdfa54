import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { createApp } from '../../src/api/app.js';
import type { AppDeps } from '../../src/api/deps.js';
import { parseEnv, workerEnvSchema } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { createS3Store } from '../../src/s3/client.js';
import { templatesFrom } from '../../src/mail/templates.js';
import { unsubscribeLinksFrom } from '../../src/unsubscribe/token.js';
import { API_KEY, TEST_MASTER_KEY, type ApiResponse, type Harness } from './harness.js';
import { apiClient } from './http.js';

/** A second API on the harness's database and Temporal, with settings of the test's own (limits, hosts, keys). */
export interface ExtraApi {
  baseUrl: string;
  api<T = any>(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<ApiResponse<T>>;
  close(): Promise<void>;
}

export async function startExtraApi(h: Harness, settings: Partial<AppDeps>): Promise<ExtraApi> {
  const config = parseEnv(workerEnvSchema, h.workerEnv);
  const s3 = createS3Store(config);
  const app = createApp({
    s3,
    s3Locations: config.S3_ALLOWED_LOCATIONS,
    sql: h.sql,
    client: h.client,
    apiKey: API_KEY,
    taskQueue: h.taskQueue,
    namespace: 'default',
    masterKey: TEST_MASTER_KEY,
    logger: createLogger('test', process.env.TEST_LOG_LEVEL ?? 'silent'),
    templates: templatesFrom(config),
    unsubscribeLinks: unsubscribeLinksFrom(config),
    ...settings,
  });
  const server: Server = await new Promise((ok) => {
    const s = app.listen(0, '127.0.0.1', () => ok(s));
  });
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    baseUrl,
    api: apiClient(baseUrl, API_KEY),
    async close() {
      await new Promise((r) => server.close(r));
      s3.close();
    },
  };
}
