import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { approve, assertOncePerRecipient, busiestWindow, campaignBody, createCampaign, messagesFor, waitForStatus } from './helpers/campaigns.js';
import { appSettingsFrom } from '../src/api/app.js';
import { apiEnvSchema, parseEnv } from '../src/config.js';
import { startExtraApi } from './helpers/app.js';
import { API_KEY, eventually, sleep, startHarness, type Harness } from './helpers/harness.js';

// The send pipeline stalls for a few seconds in the middle of a campaign under a per-minute limit
// (here: the account's throttle row is locked, as a slow or busy database would hold it), longer
// than its sends had reserved slots ahead (one SMTP connection: two sends at once, about two
// seconds of slots). The seconds of slots that passed unreserved are made up by a short burst, not
// lost: over the minute from the stall the campaign still reaches the limit, and no 60 s window
// holds more than the limit.

const PER_MINUTE = 60;
const STALL_MS = 7000;
/** Sent before the stall, the minute after it, and some more so that the campaign is still sending when that minute ends. */
const BEFORE = 10;
const RECIPIENTS = BEFORE + PER_MINUTE + 10;
let h: Harness;
before(async () => {
  h = await startHarness({ imap: false, env: { SMTP_MESSAGES_PER_MINUTE: String(PER_MINUTE), SMTP_MAX_CONNECTIONS: '1' } });
});
after(async () => {
  await h?.close();
});

test(`a ${STALL_MS / 1000} s stall of the sends: the minute after it still reaches ${PER_MINUTE}/minute, and no minute more`, async () => {
  const id = await createCampaign(h, campaignBody(RECIPIENTS, { name: 'Stalled' }));
  await approve(h, id);
  await eventually(async () => messagesFor(h, id).length >= BEFORE || undefined, 120_000, `${BEFORE} messages before the stall`);

  // Every reservation and every start under the account's limit waits for this row.
  let stalledAt = 0;
  await h.sql.begin(async (tx) => {
    await tx`SELECT next_at FROM send_slots WHERE key = 'account:default' FOR UPDATE`;
    stalledAt = Date.now();
    await sleep(STALL_MS);
  });
  await waitForStatus(h, id, 'completed', 240_000);
  assertOncePerRecipient(h, id, RECIPIENTS);

  const times = messagesFor(h, id)
    .map((m) => m.receivedAt.getTime())
    .sort((a, b) => a - b);
  assert.ok(times.at(-1)! >= stalledAt + 60_000, 'the campaign was still sending a minute after the stall');
  const inMinute = times.filter((t) => t >= stalledAt && t < stalledAt + 60_000).length;
  const busiest = busiestWindow(times, 60_000);
  const gaps = times.slice(1).map((t, i) => t - times[i]!);
  console.log(`stall of ${STALL_MS} ms: ${inMinute} messages in the minute from it (limit ${PER_MINUTE}), busiest 60 s window ${busiest}, longest gap ${Math.max(...gaps)} ms`);
  assert.ok(busiest <= PER_MINUTE, `at most ${PER_MINUTE} in any 60 s window, saw ${busiest}`);
  assert.ok(inMinute >= PER_MINUTE * 0.95, `at least 95% of the limit in the minute from the stall, got ${inMinute}`);
});

test('a campaign that starts with a burst of slots left unused: its ETA takes no rate above the limit', async () => {
  // The account's schedule is a few seconds behind when the second campaign starts (the first
  // finished, then the second was built and approved), so its first sends take up those slots in a
  // burst; the finishing time must still assume no more than the limit from then on. The API is
  // configured from the environment as src/api/main.ts configures it, so it knows the limit.
  const api = await startExtraApi(h, appSettingsFrom(parseEnv(apiEnvSchema, { ...h.workerEnv, API_KEY })));
  after(() => api.close());
  const first = await createCampaign(h, campaignBody(5, { name: 'Before the burst' }));
  await approve(h, first);
  await waitForStatus(h, first, 'completed', 60_000);
  await sleep(6000);
  const id = await createCampaign(h, campaignBody(20, { name: 'Burst' }));
  await approve(h, id);
  await eventually(async () => messagesFor(h, id).length >= 4 || undefined, 60_000, 'the first sends of the burst');
  const times = messagesFor(h, id).map((m) => m.receivedAt.getTime()).sort((a, b) => a - b);
  const { body } = await api.api('GET', `/api/v1/campaigns/${id}`);
  assert.ok(times[3]! - times[0]! < 2000, `the first four went in a burst (${times[3]! - times[0]!} ms), the condition under test`);
  assert.equal(body.status, 'sending');
  assert.deepEqual({ perMinute: body.eta?.perMinute, basis: body.eta?.basis }, { perMinute: PER_MINUTE, basis: 'limit' }, JSON.stringify(body.eta));
  const pending = body.counts.pending as number;
  const expected = Date.now() + (pending / PER_MINUTE) * 60_000;
  assert.ok(Math.abs(Date.parse(body.eta.at) - expected) < 5000, `the ETA is ${pending} messages at ${PER_MINUTE}/min from now: ${body.eta.at}`);
  await waitForStatus(h, id, 'completed', 120_000);
  assertOncePerRecipient(h, id, 20);
});
