import assert from 'node:assert/strict';
import { after, afterEach, before, test } from 'node:test';
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { bounceScheduleId } from '../src/bounces/check-schedules.js';
import { freePort } from '../src/dev/ports.js';
import { campaignBody, createCampaign, waitForStatus } from './helpers/campaigns.js';
import { ServiceProcess } from './helpers/compose.js';
import { API_KEY, eventually, startHarness, type Harness } from './helpers/harness.js';
import { TcpProxy } from './helpers/tcp-proxy.js';

// A worker or an API started before Temporal answers (a compose stack coming up, a cluster being
// rolled) waits for it, saying so, and starts once it answers; when it never does, the process
// ends with one line that names the address, not a stack trace. `npm run migrate` does the same
// for PostgreSQL.

let h: Harness;
let temporal: TcpProxy;
const processes: ServiceProcess[] = [];
before(async () => {
  h = await startHarness({ inProcessWorker: false, imap: false });
  // Temporal as the processes reach it: down until a test brings it up.
  temporal = await TcpProxy.start(Number(h.workerEnv.TEMPORAL_ADDRESS!.split(':').at(-1)));
  await temporal.down();
});
// Each test's processes end with it: a worker left polling the task queue with its database
// away would take the next test's activities.
afterEach(async () => {
  for (const p of processes.splice(0)) await p.stop();
});
after(async () => {
  for (const p of processes) await p.stop();
  await temporal?.down();
  await h?.close();
});

function start(part: 'worker' | 'api', env: Record<string, string>): ServiceProcess {
  const p = new ServiceProcess(['node', '--import', 'tsx', `src/${part}/main.ts`], {
    ...h.workerEnv,
    WORKFLOW_BUNDLE_PATH: process.env.WORKFLOW_BUNDLE_PATH ?? '',
    API_KEY,
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    TEMPORAL_ADDRESS: `127.0.0.1:${temporal.port}`,
    ...env,
  });
  processes.push(p);
  p.start();
  return p;
}

/** The process's log lines that are JSON (Node's own notices, such as a dependency's about the Node version, are not). */
const jsonLines = (output: string) =>
  output.split('\n').flatMap((l) => {
    try {
      return [JSON.parse(l) as { level: number; msg: string }];
    } catch {
      return [];
    }
  });

test('Temporal never answers: the worker and the API each warn while they wait, then exit 1 with one fatal line naming the address, no stack trace', async () => {
  const worker = start('worker', { STARTUP_WAIT_SECONDS: '3' });
  const api = start('api', { STARTUP_WAIT_SECONDS: '3', PORT: String(await freePort()) });
  for (const [name, p] of [['worker', worker], ['api', api]] as const) {
    const code = await p.exited(60_000);
    assert.equal(code, 1, `${name}: ${p.output.slice(-2000)}`);
    const lines = jsonLines(p.output);
    assert.ok(lines.some((l) => l.level === 40 && l.msg.startsWith(`waiting for Temporal at 127.0.0.1:${temporal.port}: `)), `${name} warned while waiting: ${p.output.slice(-2000)}`);
    const fatal = lines.filter((l) => l.level === 60);
    assert.equal(fatal.length, 1, `${name}: one fatal line`);
    assert.match(fatal[0]!.msg, new RegExp(`^cannot reach Temporal at 127\\.0\\.0\\.1:${temporal.port}: \\S`));
    assert.doesNotMatch(fatal[0]!.msg, /\n|tonic::|ConnectError\(/, `${name}: the reason, not the transport's wrapping`);
    assert.doesNotMatch(p.output, /^\s+at /m, `${name}: no stack trace`);
  }
});

test('Temporal answers while they wait: the worker polls and the API serves', async () => {
  const worker = start('worker', { STARTUP_WAIT_SECONDS: '120' });
  const port = await freePort();
  const api = start('api', { STARTUP_WAIT_SECONDS: '120', PORT: String(port) });
  await worker.waitFor('waiting for Temporal', 'the worker waiting');
  await api.waitFor('waiting for Temporal', 'the API waiting');
  await temporal.up();
  await worker.waitFor('worker polling', 'the worker polling once Temporal answers');
  await api.waitFor('API listening', 'the API listening once Temporal answers');
  const ready = await eventually(async () => {
    const r = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined);
    return r?.ok ? r : undefined;
  }, 30_000, 'the API ready');
  assert.equal(ready.status, 200);
  assert.equal(worker.exitCode, null);
  await worker.stop();
  await api.stop();
  await temporal.down();
});

test('npm run migrate: PostgreSQL down at first, it says it waits and migrates once it answers; never, one line and exit 1, no password', async () => {
  const admin = new URL(process.env.CM_TEST_PG_ADMIN_URL!);
  const database = postgres(admin.toString(), { max: 1, onnotice: () => {} });
  const proxy = await TcpProxy.start(Number(admin.port));
  await proxy.down();
  const name = `startup_wait_${randomBytes(4).toString('hex')}`;
  const url = new URL(admin.toString());
  url.port = String(proxy.port);
  url.pathname = `/${name}`;
  const migrate = (wait: string) => {
    const p = new ServiceProcess(['node', '--import', 'tsx', 'src/db/migrate-cli.ts'], { DATABASE_URL: url.toString(), STARTUP_WAIT_SECONDS: wait });
    processes.push(p);
    p.start();
    return p;
  };
  try {
    const never = migrate('3');
    assert.equal(await never.exited(60_000), 1, never.output);
    const lines = never.output.trim().split('\n');
    assert.deepEqual(lines.slice(0, 1), [`waiting for PostgreSQL at 127.0.0.1:${proxy.port} (up to 3 s)`]);
    assert.match(lines.at(-1)!, /^database migration failed: .*connection refused/);
    assert.equal(lines.length, 2, never.output);
    assert.ok(!never.output.includes(decodeURIComponent(admin.password)), 'no password in the output');

    const later = migrate('120');
    await later.waitFor('waiting for PostgreSQL', 'migrate waiting');
    await proxy.up();
    assert.equal(await later.exited(120_000), 0, later.output);
    assert.match(later.output, /database is at the current schema/);
    const [row] = await database`SELECT count(*)::int AS n FROM pg_database WHERE datname = ${name}`;
    assert.equal(row!.n, 1, 'the database was made and migrated');
  } finally {
    await proxy.down();
    await database.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await database.end();
  }
});

test("PostgreSQL away when the worker starts: it polls, says it will set up the bounce check Schedules later, and does once the database answers", async () => {
  const app = new URL(h.workerEnv.DATABASE_URL!);
  const database = await TcpProxy.start(Number(app.port));
  await database.down();
  app.port = String(database.port);
  const scheduleId = bounceScheduleId(h.taskQueue, 'default');
  try {
    const worker = start('worker', {
      TEMPORAL_ADDRESS: h.workerEnv.TEMPORAL_ADDRESS!,
      DATABASE_URL: app.toString(),
      IMAP_URL: 'imap://campaigns:imap-secret@127.0.0.1:1',
      BOUNCE_CHECK_EVERY: '1 hour',
    });
    await worker.waitFor('worker polling', 'the worker polling without its database');
    await worker.waitFor('could not set up the bounce check Schedules', 'the warning about the Schedules');
    assert.doesNotMatch(worker.output, /^\s+at /m, 'no stack trace');
    assert.ok(!worker.output.includes('imap-secret'), 'no password in the log');
    await assert.rejects(h.client.schedule.getHandle(scheduleId).describe(), /not found/i, 'no Schedule while the database is away');
    await database.up();
    await eventually(() => h.client.schedule.getHandle(scheduleId).describe().catch(() => undefined), 30_000, 'the Schedule set up once the database answers');
    assert.equal(worker.exitCode, null, 'the worker kept running');
  } finally {
    await database.down();
    await h.client.schedule.getHandle(scheduleId).delete().catch(() => {});
  }
});

test('an error nothing catches ends the worker with one fatal JSON line that says what happened, exit 1', async () => {
  const worker = start('worker', { TEMPORAL_ADDRESS: h.workerEnv.TEMPORAL_ADDRESS!, WORKFLOW_BUNDLE_PATH: '/nonexistent/workflow-bundle.js' });
  assert.equal(await worker.exited(60_000), 1, worker.output);
  const fatal = jsonLines(worker.output).filter((l) => l.level === 60);
  assert.equal(fatal.length, 1, worker.output.slice(-2000));
  assert.match(fatal[0]!.msg, /^stopped by an error nothing caught: .*\/nonexistent\/workflow-bundle\.js/);
  assert.doesNotMatch(worker.output, /^\s+at /m, 'the stack is in the JSON line, not printed apart');
});

test('Temporal away after the API started: an action or a test send is a 503 saying Temporal is unreachable, never that Temporal keeps it or that no worker answered', async () => {
  await temporal.up();
  const port = await freePort();
  const api = start('api', { PORT: String(port) });
  // The worker reaches Temporal directly: only the API loses it.
  const worker = start('worker', { TEMPORAL_ADDRESS: h.workerEnv.TEMPORAL_ADDRESS! });
  const post = (path: string, body: unknown) =>
    fetch(`http://127.0.0.1:${port}/api/v1${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  try {
    await api.waitFor('API listening', 'the API listening');
    const id = await createCampaign(h, campaignBody(1, { name: 'Temporal away' }));
    await waitForStatus(h, id, 'awaiting_review', 90_000);
    await temporal.down();

    const sent = await post(`/campaigns/${id}/test-send`, { to: 'reviewer@example.com' });
    const refusal = (await sent.json()) as { error: string; status: string };
    assert.equal(sent.status, 503, JSON.stringify(refusal));
    assert.match(refusal.error, /^Temporal is unreachable \(.+\): the test send may not have started/);
    assert.equal(refusal.status, 'awaiting_review');

    const res = await post(`/campaigns/${id}/cancel`, {});
    const body = (await res.json()) as { error: string; status: string; pending: string };
    assert.equal(res.status, 503, JSON.stringify(body));
    assert.ok(res.headers.get('retry-after'), 'Retry-After');
    assert.match(body.error, /^Temporal is unreachable \(.+\): the cancel is not applied, and may not have reached it/);
    assert.doesNotMatch(body.error, /keeps it|no worker/);
    assert.equal(body.pending, 'cancel');
    const [row] = await h.sql`SELECT status FROM campaigns WHERE id = ${id}`;
    assert.equal(body.status, row!.status, 'the status answered is the record\'s');
    assert.notEqual(row!.status, 'cancelled');
  } finally {
    await api.stop();
    await worker.stop();
    await temporal.down();
  }
});
