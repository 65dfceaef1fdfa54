// The build benchmark (`npm run bench -- build`). Starts a Temporal dev server, PostgreSQL and
// moto (bench/servers.ts), puts a CSV list and one attachment per recipient into S3, builds a
// campaign from it through the API and a worker in its own process, and prints build time,
// recipients per second, the worker's peak RSS, and the campaign workflow's history length next to
// that of a 10-row list.
//   BENCH_ROWS=100000 (default)  BENCH_ATTACHMENT_BYTES=2048 (default)
//   BENCH_ATTACHMENT=exact (default: statements/{{ customerId }}.pdf, one HEAD per recipient)
//                   | glob (statements/{{ customerId }}/*.pdf, one prefix listing per recipient)
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Client, Connection } from '@temporalio/client';
import { createApp } from '../src/api/app.js';
import { migrate } from '../src/db/migrate.js';
import { createSql, type Sql } from '../src/db/sql.js';
import { createDatabaseIfMissing } from '../src/dev/postgres.js';
import { createLogger } from '../src/logger.js';
import { createS3Store } from '../src/s3/client.js';
import { parseLocations } from '../src/s3/locations.js';
import { settingsText } from './image.js';
import { WORKER_MEMORY, WORKER_NODE_FLAGS, spawnWorker, startBenchServers } from './servers.js';

const say = (line: string) => process.stdout.write(`[bench] ${line}\n`);
const ROWS = Number(process.env.BENCH_ROWS ?? 100_000);
const ATTACHMENT_BYTES = Number(process.env.BENCH_ATTACHMENT_BYTES ?? 2048);
const PUT_CONCURRENCY = 64;
const GLOB = process.env.BENCH_ATTACHMENT === 'glob';
const attachmentPattern = GLOB ? 'statements/{{ customerId }}/*.pdf' : 'statements/{{ customerId }}.pdf';
const attachmentKey = (i: number) => (GLOB ? `statements/C${i}/2026-10.pdf` : `statements/C${i}.pdf`);
const KEY = 'bench-key-0123456789abcdef';
const BUCKET = 'bench-build';
const QUEUE = 'bench-build';

/** Waits for `check` to give a value, polling. */
async function until<T>(check: () => Promise<T | undefined>, ms: number, what: string): Promise<T> {
  for (const t = Date.now(); Date.now() - t < ms; await new Promise((r) => setTimeout(r, 200))) {
    const v = await check();
    if (v !== undefined) return v;
  }
  throw new Error(`${what} did not happen within ${ms / 1000} s`);
}

export async function buildBenchmark(): Promise<void> {
const servers = await startBenchServers(say, { postgres: true, s3: true });
const s3Endpoint = servers.s3Endpoint!;
const s3Env = { S3_ENDPOINT: s3Endpoint, S3_ACCESS_KEY_ID: 'bench', S3_SECRET_ACCESS_KEY: 'bench', S3_FORCE_PATH_STYLE: 'true', S3_ALLOWED_LOCATIONS: BUCKET };
const connection = await Connection.connect({ address: servers.temporalAddress });
const client = new Client({ connection });
const s3 = new S3Client({ endpoint: s3Endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } });
let sql: Sql | undefined;
let server: Server | undefined;
let failure: Error | undefined;
try {
  await createDatabaseIfMissing(servers.pgAdminUrl, 'bench_build');
  const databaseUrl = servers.pgAdminUrl.replace(/\/postgres$/, '/bench_build');
  await migrate(databaseUrl);
  sql = createSql(databaseUrl);
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  const store = createS3Store({ S3_REGION: 'us-east-1', S3_ENDPOINT: s3Endpoint, S3_ACCESS_KEY_ID: 'bench', S3_SECRET_ACCESS_KEY: 'bench', S3_FORCE_PATH_STYLE: true });
  const app = createApp({ sql, client, apiKey: KEY, taskQueue: QUEUE, namespace: 'default', logger: createLogger('bench', 'silent'), s3: store, s3Locations: parseLocations(BUCKET) });
  server = await new Promise<Server>((ok) => {
    const s = app.listen(0, '127.0.0.1', () => ok(s));
  });
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1`;
  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(base + path, { method, headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as any };
  };
  const putObject = (key: string, body: string | Buffer) => s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body })).then(() => undefined);
  const running = await spawnWorker(servers, 'src/worker/main.ts', {
    TEMPORAL_ADDRESS: servers.temporalAddress,
    TEMPORAL_TASK_QUEUE: QUEUE,
    DATABASE_URL: databaseUrl,
    SMTP_URL: 'smtp://127.0.0.1:1',
    IMAP_URL: '',
    WORKFLOW_BUNDLE_PATH: servers.bundlePath,
    LOG_LEVEL: 'info',
    ...s3Env,
  }, 'worker polling');
  try {
    const definition = (key: string) => ({
      name: `bench ${key}`,
      from: 'Bench <bench@acme.test>',
      subject: 'Statement {{ customerId }}',
      html: '<p>Dear {{ name }}, your balance is {{ balance }}.</p>',
      attachments: [{ bucket: BUCKET, key: attachmentPattern, required: true }],
      recipientsFrom: { s3: { bucket: BUCKET, key } },
    });

    async function putList(key: string, n: number) {
      const lines = ['email,name,customerId,balance'];
      for (let i = 1; i <= n; i++) lines.push(`customer${i}@example.com,Customer ${i},C${i},${i * 3}`);
      await putObject(key, lines.join('\n'));
    }

    /** Builds a campaign from `key`; returns seconds, the worker's peak RSS so far and the history length. */
    async function build(key: string) {
      const t0 = performance.now();
      const res = await api('POST', '/campaigns', definition(key));
      if (res.status !== 201) throw new Error(`create: ${res.status} ${JSON.stringify(res.body)}`);
      const id = res.body.id as string;
      const done = await until(
        async () => {
          const c = await api('GET', `/campaigns/${id}`);
          return c.body.status !== 'building' ? c.body : undefined;
        },
        30 * 60_000,
        'the build',
      );
      const seconds = (performance.now() - t0) / 1000;
      const peak = (await running.usage()).peakRssMb;
      if (done.status !== 'awaiting_review') throw new Error(`build ended ${done.status}: ${done.error}`);
      const counts = await sql!<{ buildStatus: string; n: number }[]>`
        SELECT build_status, count(*)::int AS n FROM recipients WHERE campaign_id = ${id} GROUP BY 1`;
      // The record says awaiting_review as soon as the activity wrote it; the history catches up
      // a moment later. Count it once it has stopped growing.
      const handle = client.workflow.getHandle(`campaign-${id}`);
      let events = -1;
      for (;;) {
        const n = (await handle.fetchHistory()).events?.length ?? 0;
        if (n === events) break;
        events = n;
        await new Promise((r) => setTimeout(r, 500));
      }
      return { seconds, peak, events, counts: Object.fromEntries(counts.map((c) => [c.buildStatus, c.n])) };
    }

    say(`putting ${ROWS} attachments of ${ATTACHMENT_BYTES} bytes into S3 for the pattern ${attachmentPattern} (not part of the build time)`);
    const body = Buffer.alloc(ATTACHMENT_BYTES, 0x25);
    const tPut = performance.now();
    let next = 1;
    await Promise.all(
      Array.from({ length: PUT_CONCURRENCY }, async () => {
        while (next <= ROWS) {
          const i = next++;
          await putObject(attachmentKey(i), body);
        }
      }),
    );
    say(`  done in ${((performance.now() - tPut) / 1000).toFixed(1)} s`);
    await putList('lists/small.csv', 10);
    await putList('lists/large.csv', ROWS);

    const rssBefore = (await running.usage()).peakRssMb;
    const small = await build('lists/small.csv');
    const large = await build('lists/large.csv');
    const mb = (m: number) => `${m.toFixed(0)} MB`;
    say(`10-row list:        ${small.seconds.toFixed(2)} s, history ${small.events} events, statuses ${JSON.stringify(small.counts)}`);
    say(`${ROWS}-row list: ${large.seconds.toFixed(1)} s, ${(ROWS / large.seconds).toFixed(0)} recipients/s, statuses ${JSON.stringify(large.counts)}`);
    say(`peak RSS of the worker process: ${mb(large.peak)} (${mb(rssBefore)} before the builds; memory settings ${settingsText(WORKER_MEMORY)}; node flags ${WORKER_NODE_FLAGS.text})`);
    say(`campaign workflow history: ${large.events} events for ${ROWS} rows, ${small.events} for 10 rows: ${large.events === small.events ? 'equal' : 'DIFFERENT'}`);
    if (large.events !== small.events) failure = new Error('the history length depends on the list length');
  } finally {
    await running.stop();
  }
} catch (err) {
  failure = err as Error;
}
server?.close();
await connection.close();
await sql?.end();
s3.destroy();
await servers.stop();
if (failure) throw failure;
}
