// Delivery benchmark: BENCH_N recipients, BENCH_REPEAT times (default 3), each time
//   (a) the ceiling: a plain pooled nodemailer loop over prebuilt messages into the sink;
//   (b) the floor: Temporal alone in the product's shape (bench/floor: a parent with a sliding
//       window of 100 children, one no-op activity each on the send queue, a report by Signal,
//       continue-as-new every 1,000), on the same dev server with the same worker settings;
//   (c) Campaign Mailer end to end (API, workflows, ledger, SMTP), no throttle, no Sent copies.
// Each worker runs in its own process, started afresh for each run. Prints the median of the runs:
// throughputs, product/floor and product/ceiling, and per recipient the worker's CPU, the
// PostgreSQL statements (pg_stat_statements, by role: the worker connects as its own role), the
// Temporal history events, billable actions and bytes (bench/histories.ts), and peak RSS.
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { loadavg } from 'node:os';
import { Client, Connection } from '@temporalio/client';
import nodemailer from 'nodemailer';
import type postgres from 'postgres';
import { createApp } from '../src/api/app.js';
import { sendTaskQueue } from '../src/contract/workflow-ids.js';
import { migrate } from '../src/db/migrate.js';
import { createSql, type Sql } from '../src/db/sql.js';
import { SmtpSink } from '../src/dev/smtp-sink.js';
import { createDatabaseIfMissing } from '../src/dev/postgres.js';
import { createLogger } from '../src/logger.js';
import { buildMessage, CampaignRenderer } from '../src/mail/message.js';
import { Templates } from '../src/mail/templates.js';
import { messageIdFor } from '../src/mail/message-id.js';
import type { floorParent } from './floor/workflows.js';
import { add, chainCost, workflowsCost, type HistoryCost } from './histories.js';
import { sparkline, temporalText } from './figures.js';
import { settingsText } from './image.js';
import { WORKER_MEMORY, WORKER_NODE_FLAGS, spawnWorker, startBenchServers, startPostfixSink, trackRss, type BenchServers } from './servers.js';

const N = Number(process.env.BENCH_N ?? 2000);
const REPEAT = Math.max(1, Number(process.env.BENCH_REPEAT ?? 3));
const CONNECTIONS = 3;
const KEY = 'bench-key-0123456789abcdef';
const WORKER_ROLE = 'bench_worker';
const WORKER_PASSWORD = 'bench-worker-password';
/**
 * How long a run may take before the bench gives up, scaled with the list: a build at 100 rows/s
 * at least, a send at 4 messages/s at least (a fixed 10 minutes cut 20,000-recipient runs short).
 */
const BUILD_TIMEOUT_MS = Math.max(300_000, N * 10);
const SEND_TIMEOUT_MS = Math.max(600_000, N * 250);
const say = (l: string) => process.stdout.write(`${l}\n`);

const definition = {
  from: { name: 'Acme Billing', address: 'billing@acme.test' },
  subject: 'Your statement, {{ name }}',
  text: 'Dear {{ name }},\nyour balance is {{ balance }} EUR.',
  html: '<p>Dear {{ name }},</p><p>Balance: <b>{{ balance }} EUR</b></p>',
};
const recipients = Array.from({ length: N }, (_, i) => ({ email: `customer${i + 1}@example.com`, name: `Customer ${i + 1}`, vars: { balance: i } }));

/** One run of the floor or the product. */
interface Run {
  rate: number;
  seconds: number;
  cpuMs: number;
  peakRssMb: number;
  /** The peak before the send: the worker's start and, for the product, the campaign's build. */
  peakBeforeMb: number;
  /** The worker's resident memory over the run: the largest sample (MB) in each tenth of its time (trackRss). */
  rssOverRun: number[];
  /** Statements of the worker's role, and of the API's (the bench polls it every 200 ms). */
  statements: { worker: number; api: number };
  /** Every delivery child's history together, and every run of the parent's. */
  children: HistoryCost;
  parent: HistoryCost;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

export async function deliveryBenchmark(): Promise<void> {
  const servers = await startBenchServers(say, { postgres: true });
  const sink = await startSink();
  const adminUrl = servers.pgAdminUrl.replace(/\/postgres$/, '/bench');
  const workerUrl = new URL(adminUrl);
  workerUrl.username = WORKER_ROLE;
  workerUrl.password = WORKER_PASSWORD;
  const connection = await Connection.connect({ address: servers.temporalAddress });
  const client = new Client({ connection });
  let sql: Sql | undefined;
  let server: Server | undefined;
  try {
    await createDatabaseIfMissing(servers.pgAdminUrl, 'bench');
    await migrate(adminUrl);
    sql = createSql(adminUrl);
    await sql`CREATE EXTENSION IF NOT EXISTS pg_stat_statements`;
    await sql.unsafe(`CREATE ROLE ${WORKER_ROLE} LOGIN SUPERUSER PASSWORD '${WORKER_PASSWORD}'`);
    const app = createApp({ sql, client, apiKey: KEY, taskQueue: 'bench', namespace: 'default', logger: createLogger('bench', 'silent') });
    server = await new Promise<Server>((ok) => {
      const s = app.listen(0, '127.0.0.1', () => ok(s));
    });
    const api = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1`;
    const product = { servers, sinkPort: sink.port, client, sql, api, workerUrl: workerUrl.toString() };

    const ceiling = await prebuiltCeiling(sink.port);
    const runs = { ceiling: [] as number[], floor: [] as Run[], product: [] as Run[] };
    for (let i = 1; i <= REPEAT; i++) {
      runs.ceiling.push(await ceiling());
      runs.floor.push(await floorRun(servers, client, i));
      runs.product.push(await productRun(product, i));
      say(
        `run ${i}/${REPEAT}: ceiling ${runs.ceiling.at(-1)!.toFixed(0)}/s, floor ${runs.floor.at(-1)!.rate.toFixed(1)}/s, ` +
          `product ${runs.product.at(-1)!.rate.toFixed(1)}/s; parent runs: floor ${runs.floor.at(-1)!.parent.workflows}, product ${runs.product.at(-1)!.parent.workflows}; ` +
          `load ${loadavg()[0]!.toFixed(1)}`,
      );
    }
    report(sink.name, runs);
  } finally {
    server?.close();
    await connection.close();
    await sql?.end();
    await sink.stop();
    await servers.stop();
  }
}

/** `npm run bench -- floor`: the floor alone, on TEMPORAL_ADDRESS when set (to compare probes on one server). */
export async function floorBenchmark(): Promise<void> {
  const servers = await startBenchServers(say, { postgres: false });
  say(`floor on ${temporalText(process.env)}`);
  const connection = await Connection.connect({ address: servers.temporalAddress });
  const client = new Client({ connection });
  try {
    const runs: Run[] = [];
    for (let i = 1; i <= REPEAT; i++) {
      runs.push(await floorRun(servers, client, i));
      const r = runs.at(-1)!;
      const all = add(r.children, r.parent);
      say(
        `floor run ${i}/${REPEAT}: ${N} children in ${r.seconds.toFixed(1)} s = ${r.rate.toFixed(1)} per s; ` +
          `${r.parent.workflows} parent run(s); per recipient ${(all.events / N).toFixed(1)} events, ${(all.actions / N).toFixed(2)} actions, ` +
          `${(all.bytes / N).toFixed(0)} bytes, ${r.cpuMs.toFixed(2)} ms worker CPU`,
      );
    }
    say(`floor: median ${median(runs.map((r) => r.rate)).toFixed(1)} children/s over ${REPEAT} runs of ${N}`);
  } finally {
    await connection.close();
    await servers.stop();
  }
}

async function startSink(): Promise<{ name: string; port: number; stop(): Promise<void> }> {
  const postfix = await startPostfixSink(say);
  if (postfix) return { name: 'Postfix smtp-sink', ...postfix };
  const sink = new SmtpSink();
  await sink.start(0);
  return { name: 'the built-in smtp-server sink (Postfix smtp-sink not available)', port: sink.port, stop: () => sink.stop() };
}

/** The ceiling: messages built once, then each run sends them all through a pooled transport. */
async function prebuiltCeiling(port: number): Promise<() => Promise<number>> {
  const renderer = new CampaignRenderer(definition, new Templates());
  const date = new Date();
  const built = await Promise.all(
    recipients.map((r, i) => renderer.render({ id: i + 1, ...r }).then((parts) => buildMessage(parts, messageIdFor('ceiling', i + 1, 'billing@acme.test'), date))),
  );
  return async () => {
    const transport = nodemailer.createTransport({ pool: true, host: '127.0.0.1', port, maxConnections: CONNECTIONS, maxMessages: Infinity });
    const t0 = performance.now();
    await Promise.all(built.map((m, i) => transport.sendMail({ envelope: { from: 'billing@acme.test', to: [recipients[i]!.email] }, raw: m.raw })));
    const seconds = (performance.now() - t0) / 1000;
    transport.close();
    return N / seconds;
  };
}

async function floorRun(servers: BenchServers, client: Client, i: number): Promise<Run> {
  const taskQueue = `floor-${i}`;
  const worker = await spawnWorker(servers, 'bench/floor/worker.ts', {
    TEMPORAL_ADDRESS: servers.temporalAddress,
    FLOOR_TASK_QUEUE: taskQueue,
    FLOOR_BUNDLE_PATH: servers.floorBundlePath,
    SMTP_MAX_CONNECTIONS: String(CONNECTIONS),
  }, 'floor worker polling');
  try {
    const workflowId = `floor-${Date.now()}-${i}`;
    const before = await worker.usage();
    const rss = trackRss(worker);
    const t0 = performance.now();
    await client.workflow.execute<typeof floorParent>('floorParent', { taskQueue, workflowId, args: [{ total: N, sendQueue: sendTaskQueue(taskQueue) }] });
    const seconds = (performance.now() - t0) / 1000;
    const after = await worker.usage();
    const rssOverRun = rss.stop();
    await new Promise((r) => setTimeout(r, 1000)); // the last children close after their report
    const children = await workflowsCost(client, Array.from({ length: N }, (_, c) => `${workflowId}-c-${c}`));
    const parent = await chainCost(client, workflowId);
    return { rate: N / seconds, seconds, cpuMs: ((after.cpuSeconds - before.cpuSeconds) * 1000) / N, peakRssMb: after.peakRssMb, peakBeforeMb: before.peakRssMb, rssOverRun, statements: { worker: 0, api: 0 }, children, parent };
  } finally {
    await worker.stop();
  }
}

interface ProductContext {
  servers: BenchServers;
  sinkPort: number;
  client: Client;
  sql: Sql;
  api: string;
  workerUrl: string;
}

async function productRun(p: ProductContext, i: number): Promise<Run> {
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(p.api + path, {
      method,
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return (await res.json()) as any;
  };
  const worker = await spawnWorker(p.servers, 'src/worker/main.ts', {
    TEMPORAL_ADDRESS: p.servers.temporalAddress,
    TEMPORAL_TASK_QUEUE: 'bench',
    DATABASE_URL: p.workerUrl,
    SMTP_URL: `smtp://127.0.0.1:${p.sinkPort}`,
    SMTP_MAX_CONNECTIONS: String(CONNECTIONS),
    IMAP_URL: '',
    WORKFLOW_BUNDLE_PATH: p.servers.bundlePath,
    LOG_LEVEL: 'info',
  }, 'worker polling');
  try {
    const created = await call('POST', '/campaigns', { name: `Bench ${N} #${i}`, ...definition, recipients });
    if (!created.id) throw new Error(`the campaign was not created: ${JSON.stringify(created)}`);
    for (let t = Date.now(); ; ) {
      const c = await call('GET', `/campaigns/${created.id}`);
      if (c.status === 'awaiting_review') break;
      if (c.status === 'failed' || Date.now() - t > BUILD_TIMEOUT_MS) throw new Error(`the campaign did not build: ${JSON.stringify(c)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    await p.sql`SELECT pg_stat_statements_reset()`;
    const before = await worker.usage();
    const rss = trackRss(worker);
    const t0 = performance.now();
    await call('POST', `/campaigns/${created.id}/approve`, {});
    let last: any;
    for (let t = Date.now(); ; ) {
      last = await call('GET', `/campaigns/${created.id}`);
      if (last.status === 'completed') break;
      if (Date.now() - t > SEND_TIMEOUT_MS) throw new Error(`the campaign did not complete within ${SEND_TIMEOUT_MS / 1000} s: ${JSON.stringify(last)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const seconds = (performance.now() - t0) / 1000;
    const after = await worker.usage();
    const rssOverRun = rss.stop();
    if (last.counts.sent !== N) throw new Error(`sent ${last.counts.sent} of ${N}`);
    const statements = await statementsByRole(p.sql);
    const workflowId = `campaign-${created.id}`;
    await p.client.workflow.getHandle(workflowId).result();
    await new Promise((r) => setTimeout(r, 1000)); // the last children close after their report
    const ids = await p.sql<{ id: number }[]>`SELECT id FROM recipients WHERE campaign_id = ${created.id} ORDER BY id`;
    const children = await workflowsCost(p.client, ids.map((r) => `${workflowId}-r-${r.id}`));
    const parent = await chainCost(p.client, workflowId);
    return { rate: N / seconds, seconds, cpuMs: ((after.cpuSeconds - before.cpuSeconds) * 1000) / N, peakRssMb: after.peakRssMb, peakBeforeMb: before.peakRssMb, rssOverRun, statements, children, parent };
  } finally {
    await worker.stop();
  }
}

/** Statements run on the bench database since the reset, by the worker's role and by the API's. */
async function statementsByRole(sql: Sql): Promise<Run['statements']> {
  const rows: postgres.RowList<{ rolname: string; calls: string }[]> = await sql`
    SELECT r.rolname, sum(s.calls)::text AS calls
      FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid
     WHERE s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
       AND s.query NOT ILIKE '%pg_stat_statements%'
     GROUP BY r.rolname`;
  const of = (role: string) => Number(rows.find((r) => r.rolname === role)?.calls ?? 0);
  return { worker: of(WORKER_ROLE), api: of('postgres') };
}

function report(sinkName: string, runs: { ceiling: number[]; floor: Run[]; product: Run[] }): void {
  const m = (rs: Run[], f: (r: Run) => number) => median(rs.map(f));
  const perRecipient = (rs: Run[], pick: (c: HistoryCost) => number) => m(rs, (r) => pick(add(r.children, r.parent)) / N);
  const ceiling = median(runs.ceiling);
  const floor = m(runs.floor, (r) => r.rate);
  const product = m(runs.product, (r) => r.rate);
  const col = (s: string | number, w = 11) => String(s).padStart(w);
  const row = (label: string, c: string | number, f: string | number, p: string | number) => say(`  ${label.padEnd(44)}${col(c)}${col(f)}${col(p)}`);
  const both = (label: string, f: (rs: Run[]) => string) => row(label, '', f(runs.floor), f(runs.product));
  const list = (xs: number[]) => xs.map((x) => x.toFixed(1)).join(', ');
  say('');
  say(`Delivery benchmark: ${N} recipients into ${sinkName}, ${CONNECTIONS} SMTP connections; median of ${REPEAT} run(s)`);
  say(`  workers: ${process.env.BENCH_TSX ? 'TypeScript through tsx (BENCH_TSX)' : 'plain node on the compiled server'}; memory settings ${settingsText(WORKER_MEMORY)}; node flags ${WORKER_NODE_FLAGS.text}`);
  say(`  Temporal: ${temporalText(process.env)}`);
  row('', 'ceiling', 'floor', 'product');
  row('messages/s', ceiling.toFixed(0), floor.toFixed(1), product.toFixed(1));
  say(`  product/floor ${((product / floor) * 100).toFixed(1)} %, product/ceiling ${((product / ceiling) * 100).toFixed(1)} %`);
  say(`  per run: ceiling ${list(runs.ceiling)}; floor ${list(runs.floor.map((r) => r.rate))}; product ${list(runs.product.map((r) => r.rate))}`);
  say('  per recipient:');
  both('  worker CPU ms', (rs) => m(rs, (r) => r.cpuMs).toFixed(2));
  both('  PostgreSQL statements, worker', (rs) => m(rs, (r) => r.statements.worker / N).toFixed(1));
  both('  PostgreSQL statements, API (polled 5/s)', (rs) => m(rs, (r) => r.statements.api / N).toFixed(2));
  both('  history events (child + parent share)', (rs) => perRecipient(rs, (c) => c.events).toFixed(1));
  both('    of which the parent', (rs) => m(rs, (r) => r.parent.events / N).toFixed(1));
  both('  billable actions (child + parent share)', (rs) => perRecipient(rs, (c) => c.actions).toFixed(2));
  both('    of which the parent', (rs) => m(rs, (r) => r.parent.actions / N).toFixed(2));
  both('  history bytes (child + parent share)', (rs) => perRecipient(rs, (c) => c.bytes).toFixed(0));
  both('worker peak RSS MB', (rs) => m(rs, (r) => r.peakRssMb).toFixed(0));
  both('  before the send (start; product: the build)', (rs) => m(rs, (r) => r.peakBeforeMb).toFixed(0));
  both('parent runs (continue-as-new)', (rs) => m(rs, (r) => r.parent.workflows).toFixed(0));
  rssOverRuns(runs.floor, runs.product);
  if (process.env.BENCH_EVENTS) eventBreakdown(runs.floor[0]!, runs.product[0]!);
  say('  Actions are counted from the fetched histories (bench/histories.ts); activity heartbeats and Queries are not in');
  say('  any history and are not counted (the send activity heartbeats once, with its SMTP outcome).');
}

/**
 * The workers' resident memory through each run, ten figures a run (the largest sample in each
 * tenth of its time), on one scale from the lowest to the highest of them all: growth that keeps
 * on with the list reads differently from a plateau reached early.
 */
function rssOverRuns(floor: Run[], product: Run[]): void {
  const all = [...floor, ...product].flatMap((r) => r.rssOverRun);
  if (all.length === 0) return;
  const [low, high] = [Math.min(...all), Math.max(...all)];
  say(`  worker RSS through each run, MB at each tenth of its time (${low.toFixed(0)} ▁ to ${high.toFixed(0)} █):`);
  for (const [name, rs] of [['floor', floor], ['product', product]] as const) {
    rs.forEach((r, i) => say(`    ${`${name} ${i + 1}`.padEnd(11)}${sparkline(r.rssOverRun, low, high)}  ${r.rssOverRun.map((x) => x.toFixed(0)).join(' ')}`));
  }
}

/**
 * BENCH_EVENTS=1: where each recipient's history bytes go, by event type, in the children and in
 * the parent's share (the first run of each; these figures do not vary between runs).
 */
function eventBreakdown(floor: Run, product: Run): void {
  const col = (s: string | number, w = 9) => String(s).padStart(w);
  for (const part of ['children', 'parent'] as const) {
    say(`  history per recipient by event type, ${part === 'children' ? 'the delivery child' : 'the parent\'s share'}: events, bytes, of which payloads`);
    say(`  ${''.padEnd(46)}${col('floor', 27)}${col('product', 27)}`);
    const f = floor[part].byType;
    const p = product[part].byType;
    const types = [...new Set([...Object.keys(f), ...Object.keys(p)])].sort((a, b) => (p[b]?.bytes ?? 0) - (p[a]?.bytes ?? 0));
    const cells = (t?: { events: number; bytes: number; payloadBytes: number }) =>
      t ? `${col((t.events / N).toFixed(2))}${col((t.bytes / N).toFixed(0))}${col((t.payloadBytes / N).toFixed(0))}` : col('', 27);
    for (const type of types) say(`    ${type.padEnd(44)}${cells(f[type])}${cells(p[type])}`);
  }
}
