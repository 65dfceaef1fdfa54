import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { freePort } from '../src/dev/ports.js';
import { approve, campaignBody, createCampaign, messagesFor, waitForStatus } from './helpers/campaigns.js';
import { ServiceProcess } from './helpers/compose.js';
import { API_KEY, eventually, startHarness, type Harness } from './helpers/harness.js';

// `docker compose stop`, a Kubernetes rollout: SIGTERM. The worker stops polling, lets the send
// that is inside its SMTP transaction finish and report, and exits 0; the API stops accepting
// connections, answers the request it is serving, and exits 0.
const DATA_DELAY_MS = 4000;

let h: Harness;
const processes: ServiceProcess[] = [];
before(async () => {
  // One connection and one send slot: a stopping worker holds exactly one send, the rest wait.
  h = await startHarness({ inProcessWorker: false, imap: false, env: { SMTP_MAX_CONNECTIONS: '1', SMTP_SEND_SLOTS: '1' } });
});
after(async () => {
  for (const p of processes) await p.stop();
  await h?.close();
});

function worker(): ServiceProcess {
  const env = { ...h.workerEnv, WORKFLOW_BUNDLE_PATH: process.env.WORKFLOW_BUNDLE_PATH ?? '', LOG_LEVEL: 'info' };
  const p = new ServiceProcess(['node', '--import', 'tsx', 'src/worker/main.ts'], env);
  processes.push(p);
  p.start();
  return p;
}

test('SIGTERM mid-send: the send in flight completes once, the worker exits 0; the API finishes a request in flight', async () => {
  let w = worker();
  await w.waitFor('worker polling', 'the first worker');
  // The SDK's own log comes through the worker's logger as JSON lines, and its warning that the
  // send queue's worker has no workflows (so by design) is not a warning at every start.
  await eventually(async () => /"sdk":true[^\n]*"msg":"Worker state changed"/.test(w.output) || undefined, 10_000, "the SDK's log as JSON");
  assert.doesNotMatch(w.output, /No workflows registered/);
  // The SDK's core (its Rust part) logs through the same logger: a workflow task that fails (here,
  // a workflow type the worker does not have) is a JSON warning, not a line in core's own format.
  const unknown = await h.client.workflow.start('noSuchWorkflow', { taskQueue: h.taskQueue, workflowId: `unknown-type-${Date.now()}`, args: [] });
  try {
    await eventually(async () => /"sdk":true[^\n]*"sdkComponent":"core"[^\n]*"msg":"Failing workflow task"/.test(w.output) || undefined, 20_000, "core's warning as JSON");
    assert.doesNotMatch(w.output, /WARN\S* temporalio_sdk_core|\[2m/, 'no line in core\'s own format');
  } finally {
    await unknown.terminate('test done');
  }
  // A campaign awaiting review, for the API's in-flight request below.
  const waiting = await createCampaign(h, campaignBody(1, { name: 'awaiting review' }));
  await waitForStatus(h, waiting, 'awaiting_review', 90_000);

  const id = await createCampaign(h, campaignBody(2, { name: 'stopped mid-send' }));
  let signalledAt = 0;
  h.sink.faults.dataDelayMs = (m) => {
    if (!m.messageId?.includes(id) || signalledAt) return 0;
    // The first message's DATA has arrived: the worker is inside the SMTP transaction. Stop it now.
    signalledAt = Date.now();
    process.kill(w.pid!, 'SIGTERM');
    return DATA_DELAY_MS;
  };
  await approve(h, id);
  const code = await w.exited(90_000);
  assert.ok(signalledAt > 0, 'SIGTERM was sent while a message was in DATA');
  assert.equal(code, 0, w.output.slice(-3000));
  assert.ok(Date.now() - signalledAt >= DATA_DELAY_MS - 200, 'the worker waited for the server to answer');
  // The send finished on the stopping worker, with one attempt, and reported: nothing to redo.
  const ledger = await h.sql`SELECT state, attempts FROM delivery_ledger WHERE campaign_id = ${id}`;
  assert.deepEqual(ledger.map((r) => [r.state, r.attempts]), [['sent', 1]], 'one send, finished, on its first attempt');
  assert.equal(messagesFor(h, id).length, 1, 'the stopping worker took no second send');
  assert.match(w.output, /worker stopped/);

  // The API: a test-send waits for a worker (none is running); SIGTERM arrives while it waits.
  const port = await freePort();
  const api = new ServiceProcess(['node', '--import', 'tsx', 'src/api/main.ts'], { ...h.workerEnv, API_KEY, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'info' });
  processes.push(api);
  api.start();
  await api.waitFor('API listening', 'the API');
  const base = `http://127.0.0.1:${port}`;
  const inFlight = fetch(`${base}/api/v1/campaigns/${waiting}/test-send`, {
    method: 'POST',
    headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ to: 'qa@acme.test' }),
  }).then(
    async (r) => ({ status: r.status, body: (await r.json()) as unknown }),
    (err: Error) => ({ status: 0, body: `the request failed: ${err.message}` }),
  );
  // In flight: the API has started the test-send workflow and waits for its answer.
  await eventually(async () => {
    const ids: string[] = [];
    for await (const wf of h.client.workflow.list({ query: `WorkflowType = 'testSendWorkflow' AND TaskQueue = '${h.taskQueue}'` })) ids.push(wf.workflowId);
    return ids.some((i) => i.includes(waiting));
  }, 30_000, 'the test-send to be in flight');
  process.kill(api.pid!, 'SIGTERM');
  await api.waitFor('shutting down', 'the API to begin stopping');
  await assert.rejects(fetch(`${base}/healthz`, { signal: AbortSignal.timeout(5000) }), 'no new connections once stopping');
  w = worker(); // the test-send can now run
  await w.waitFor('worker polling', 'the second worker');
  const answer = await inFlight;
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  assert.equal(await api.exited(60_000), 0, api.output.slice(-3000));
  assert.match(api.output, /API stopped/);

  // The second worker finishes the campaign: two recipients, two messages.
  await waitForStatus(h, id, 'completed', 120_000);
  assert.equal(messagesFor(h, id).length, 2);
});
