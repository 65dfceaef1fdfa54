import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { approve, assertOncePerRecipient, busiestWindow, campaignBody, createCampaign, messagesFor, waitForStatus } from './helpers/campaigns.js';
import { eventually, startHarness, type Harness } from './helpers/harness.js';
import { WorkerProcess } from './helpers/worker-process.js';

const PER_MINUTE = 60;
// Three campaigns of 25: 75 messages, more than one minute's limit, so the run spans more than a
// minute (about 74 s) and the busiest window of 60 s is a real test of the limit.
const EACH = 25;
let h: Harness;
const workers: WorkerProcess[] = [];
before(async () => {
  h = await startHarness({ inProcessWorker: false, imap: false, env: { SMTP_MESSAGES_PER_MINUTE: String(PER_MINUTE) } });
  for (let i = 0; i < 2; i++) {
    const w = new WorkerProcess({ ...h.workerEnv, WORKFLOW_BUNDLE_PATH: process.env.WORKFLOW_BUNDLE_PATH ?? '' });
    await w.start();
    workers.push(w);
  }
});
after(async () => {
  await Promise.all(workers.map((w) => w.stop()));
  await h?.close();
});

test(`two worker processes and three campaigns share one account's ${PER_MINUTE}/minute`, async () => {
  const ids: string[] = [];
  for (let i = 0; i < 3; i++) ids.push(await createCampaign(h, campaignBody(EACH, { name: `Throttled ${i}` })));
  await Promise.all(ids.map((id) => approve(h, id)));
  const t0 = Date.now();
  // The ETA uses the rate the campaign really has over the span its sends cover: its share of the
  // account's 60/minute (all of it before the others start), never a fraction of a fixed 5 minutes
  await eventually(async () => messagesFor(h, ids[0]!).length >= 8 || undefined, 120_000, 'eight messages of the first campaign');
  const mid = await h.api('GET', `/api/v1/campaigns/${ids[0]}`);
  assert.equal(mid.body.eta?.basis, 'observed', JSON.stringify(mid.body.eta));
  assert.ok(mid.body.eta.perMinute >= 12 && mid.body.eta.perMinute <= PER_MINUTE * 1.1, `observed ${mid.body.eta.perMinute}/min of an account allowing ${PER_MINUTE}/min`);
  const progress = setInterval(async () => {
    const rows = await h.sql`SELECT campaign_id, send_status, count(*)::int AS n FROM recipients GROUP BY 1, 2 ORDER BY 1, 2`;
    console.log(`${Math.round((Date.now() - t0) / 1000)} s: ${rows.map((r) => `${r.campaignId.slice(0, 4)} ${r.sendStatus} ${r.n}`).join(', ')}`);
  }, 10_000);
  try {
    for (const id of ids) await waitForStatus(h, id, 'completed', 240_000);
  } finally {
    clearInterval(progress);
  }
  for (const id of ids) assertOncePerRecipient(h, id, EACH);

  const times = ids.flatMap((id) => messagesFor(h, id).map((m) => m.receivedAt.getTime())).sort((a, b) => a - b);
  assert.equal(times.length, 3 * EACH);
  const busiestMinute = busiestWindow(times, 60_000);
  const seconds = (times.at(-1)! - times[0]!) / 1000;
  const achieved = ((times.length - 1) / seconds) * 60;
  console.log(`throttle: ${times.length} messages in ${seconds.toFixed(1)} s, ${achieved.toFixed(1)}/min achieved of ${PER_MINUTE}/min allowed (${((achieved / PER_MINUTE) * 100).toFixed(1)}%), busiest 60 s window: ${busiestMinute}`);
  assert.ok(busiestMinute <= PER_MINUTE, `at most ${PER_MINUTE} in any 60 s window, saw ${busiestMinute}`);
  assert.ok(achieved >= PER_MINUTE * 0.95, `at least 95% of the allowed rate, got ${achieved.toFixed(1)}/min`);
});
