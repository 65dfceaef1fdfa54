import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { approve, assertOncePerRecipient, campaignBody, createCampaign, messagesFor, waitForStatus } from './helpers/campaigns.js';
import { eventually, sleep, startHarness, type Harness } from './helpers/harness.js';

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

/** The most messages in any window of `ms` milliseconds, windows starting at each arrival. */
function busiestWindow(times: number[], ms: number): number {
  let best = 0;
  for (let i = 0, j = 0; i < times.length; i++) {
    while (times[j]! <= times[i]! - ms) j++;
    best = Math.max(best, i - j + 1);
  }
  return best;
}

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
