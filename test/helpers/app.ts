import { createApp } from '../../src/api/app.js';
import type { AppDeps } from '../../src/api/deps.js';
import { parseEnv, workerEnvSchema } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { createS3Store } from '../../src/s3/client.js';
import { templatesFrom } from '../../src/mail/templates.js';
import { unsubscribeLinksFrom } from '../../src/unsubscribe/token.js';
import { API_KEY, TEST_MASTER_KEY, type ApiResponse, type Harness } from './harness.js';
import { apiClient, listenLocally } from './http.js';

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
  const { baseUrl, close: stopServing } = await listenLocally(app);
  return {
    baseUrl,
    api: apiClient(baseUrl, API_KEY),
    async close() {
      await stopServing();
      s3.close();
    },
  };
}

/** POST /accounts/:name/verify through an API of its own under these master keys (the rotation tests). */
export async function verifyUnderKeys(h: Harness, keys: { masterKey: string; previousMasterKeys?: string[] }, name: string): Promise<ApiResponse> {
  const api = await startExtraApi(h, { ...keys, allowPrivateHosts: 'loopback' });
  try {
    return await api.api('POST', `/api/v1/accounts/${name}/verify`, {});
  } finally {
    await api.close();
  }
}
