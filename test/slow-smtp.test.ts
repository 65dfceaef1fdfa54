import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { approve, campaignBody, createCampaign, messagesFor, waitForStatus } from './helpers/campaigns.js';
import { eventually, startHarness, type Harness } from './helpers/harness.js';
import { WorkerProcess } from './helpers/worker-process.js';

// A server that answers each DATA after 1.5 s (ordinary for Microsoft 365 or a busy relay), the
// default settings (SMTP_MAX_CONNECTIONS=3, default slots), worker processes as in production.
// Sends queue behind three connections; none may time out into a second attempt that sends again.
// 30 is well past what one worker holds at once (its six send slots over three connections), so
// sends still queue; more recipients only make the run longer.
const N = 30;
const DATA_DELAY_MS = 1500;

let h: Harness;
const workers: WorkerProcess[] = [];
before(async () => {
  h = await startHarness({ inProcessWorker: false, imap: false });
  h.sink.faults.dataDelayMs = DATA_DELAY_MS;
});
after(async () => {
  await Promise.all(workers.map((w) => w.stop()));
  await h?.close();
});

async function startWorker(): Promise<WorkerProcess> {
  const w = new WorkerProcess({ ...h.workerEnv, WORKFLOW_BUNDLE_PATH: process.env.WORKFLOW_BUNDLE_PATH ?? '' });
  workers.push(w);
  await w.start();
  return w;
}

/** Messages at the sink for the campaign, distinct recipients among them, and duplicates. */
function tally(id: string) {
  const sent = messagesFor(h, id);
  const recipients = new Set(sent.flatMap((m) => m.to));
  return { messages: sent.length, recipients: recipients.size, duplicates: sent.length - new Set(sent.map((m) => m.messageId)).size };
}

async function sentRows(id: string): Promise<number> {
  const [row] = await h.sql`SELECT count(*)::int AS n FROM recipients WHERE campaign_id = ${id} AND send_status = 'sent'`;
  return row!.n;
}

test(`one worker: ${N} recipients through a server that takes 1.5 s per DATA get exactly ${N} messages`, async () => {
  await startWorker();
  const started = Date.now();
  const id = await createCampaign(h, campaignBody(N, { name: 'slow server, one worker' }));
  await approve(h, id);
  await waitForStatus(h, id, 'completed', 240_000);
  const t = tally(id);
  console.log(`one worker: ${N} messages in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  assert.deepEqual(t, { messages: N, recipients: N, duplicates: 0 });
  assert.equal(await sentRows(id), N);
  // Every send took one attempt that entered SMTP once: no attempt was replaced while it waited.
  const [ledger] = await h.sql`SELECT count(*)::int AS n, max(attempts)::int AS most FROM delivery_ledger WHERE campaign_id = ${id}`;
  assert.deepEqual([ledger!.n, ledger!.most], [N, 1]);
});

test(`two workers: still exactly ${N} messages to ${N} recipients`, async () => {
  await startWorker(); // the first one is still running
  assert.equal(workers.filter((w) => !w.exited).length, 2);
  const id = await createCampaign(h, campaignBody(N, { name: 'slow server, two workers' }));
  await approve(h, id);
  await waitForStatus(h, id, 'completed', 240_000);
  assert.deepEqual(tally(id), { messages: N, recipients: N, duplicates: 0 });
  assert.equal(await sentRows(id), N);
  const owners = await h.sql`SELECT DISTINCT substring(owner from 'pid [0-9]+') AS pid FROM delivery_ledger WHERE campaign_id = ${id}`;
  assert.equal(owners.length, 2, 'both workers sent');
});

test('two workers, one SIGKILLed mid-campaign: duplicates only for messages the dead worker had inside SMTP', async () => {
  const [victim] = workers.filter((w) => !w.exited);
  assert.ok(victim?.pid);
  const id = await createCampaign(h, campaignBody(N, { name: 'slow server, a worker killed' }));
  await approve(h, id);
  await eventually(async () => messagesFor(h, id).length >= N / 2, 120_000, `${N / 2} messages before the kill`);
  await victim.kill();
  // The one window SMTP cannot close: what the dead worker had inside a transaction (its ledger
  // rows still `sending`). DELIVERY_UNKNOWN_POLICY (default resend) decides those; nothing else
  // may be sent twice.
  const [atKill] = await h.sql`
    SELECT count(*)::int AS n FROM delivery_ledger
    WHERE campaign_id = ${id} AND state = 'sending' AND owner LIKE ${`% pid ${victim.pid} %`}`;
  const inSmtp = atKill!.n;
  assert.ok(messagesFor(h, id).length < N, 'the kill came mid-campaign');
  await waitForStatus(h, id, 'completed', 300_000);
  const t = tally(id);
  console.log(`kill: ${inSmtp} send(s) inside SMTP at the kill, ${t.duplicates} duplicate(s)`);
  assert.equal(t.recipients, N, 'every recipient got the message');
  assert.equal(new Set(messagesFor(h, id).map((m) => m.messageId)).size, N);
  assert.ok(t.duplicates <= inSmtp, `duplicates (${t.duplicates}) at most the sends inside SMTP at the kill (${inSmtp})`);
  assert.equal(await sentRows(id), N);
});
