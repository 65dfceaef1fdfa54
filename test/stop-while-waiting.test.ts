import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { spacingMs } from '../src/schedule/spacing.js';
import { approve, assertOncePerRecipient, campaignBody, createCampaign, messagesFor, waitForStatus } from './helpers/campaigns.js';
import { eventually, sleep, startHarness, type Harness } from './helpers/harness.js';

// A send that holds no SMTP transaction yet, only waiting inside its activity for its slot under
// the rate limit, hears of a pause or a cancel within about a second: it gives its slot back and
// stops, and the waiting recipient is never sent.

const PER_MINUTE = 3;
/** 20.2 s: the second message's slot is near enough to be waited for inside the send activity (30 s). */
const SPACING = spacingMs(PER_MINUTE);
let h: Harness;
before(async () => {
  h = await startHarness({ imap: false, env: { SMTP_MESSAGES_PER_MINUTE: String(PER_MINUTE) } });
});
after(async () => {
  await h?.close();
});

/** When the account's next slot is: moved one spacing on by every reservation. */
async function nextSlot(): Promise<number> {
  const [row] = await h.sql<{ nextAt: Date }[]>`SELECT next_at FROM send_slots WHERE key = 'account:default'`;
  return row!.nextAt.getTime();
}

/**
 * Approves a campaign and waits until its first message is at the sink and its second send has
 * reserved the next slot (a spacing later) and waits for it inside the activity. Answers the time
 * of that slot and what the account's schedule reads with it reserved.
 */
async function secondSendWaiting(id: string): Promise<{ slotAt: number; reserved: number }> {
  await approve(h, id);
  const first = await eventually(async () => messagesFor(h, id)[0], 60_000, 'the first message');
  const sentAt = first.receivedAt.getTime();
  // The second send's reservation moves the schedule two spacings past the first message.
  const reserved = await eventually(async () => {
    const next = await nextSlot();
    return next > sentAt + 1.5 * SPACING && next;
  }, 20_000, 'the second send reserving its slot');
  assert.ok(reserved - Date.now() < 2 * SPACING, 'the slot is near enough to be waited for in the activity');
  assert.equal(messagesFor(h, id).length, 1);
  return { slotAt: reserved - SPACING, reserved };
}

test('cancel during a send waiting for its rate-limit slot: cancelled within seconds, the waiting recipient never sent, the slot given back', async () => {
  const id = await createCampaign(h, campaignBody(3, { name: 'Cancel while throttled' }));
  const { slotAt, reserved } = await secondSendWaiting(id);
  const asked = Date.now();
  const answer = await h.api('POST', `/api/v1/campaigns/${id}/cancel`, { reason: 'wrong list' });
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  await waitForStatus(h, id, 'cancelled', 10_000);
  const tookMs = Date.now() - asked;
  assert.ok(tookMs < 5000, `cancelled ${tookMs} ms after the request, the waiting send ending well before its slot`);
  assert.ok(Date.now() < slotAt, 'cancelled before the waiting send reached its slot');
  // The slot no message used is given back: the account's schedule steps back one spacing.
  assert.ok(Math.abs((await nextSlot()) - (reserved - SPACING)) < 2, 'the slot given back');
  // Past the waiting send's slot: still only the first message.
  await sleep(Math.max(0, slotAt - Date.now()) + 2000);
  assert.equal(messagesFor(h, id).length, 1);
  assertOncePerRecipient(h, id, 1);
  const final = await h.api('GET', `/api/v1/campaigns/${id}`);
  assert.equal(final.body.countsByStatus.send.cancelled, 2, JSON.stringify(final.body.countsByStatus));
  assert.deepEqual(await h.client.workflow.getHandle(`campaign-${id}`).result(), { status: 'cancelled' });
});

test('pause during a send waiting for its rate-limit slot: the wait ends within seconds with the slot given back, nothing is sent while paused, resume sends it at the pace', async () => {
  const id = await createCampaign(h, campaignBody(2, { name: 'Pause while throttled' }));
  const { slotAt, reserved } = await secondSendWaiting(id);
  const asked = Date.now();
  const answer = await h.api('POST', `/api/v1/campaigns/${id}/pause`, { reason: 'check the list' });
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  await waitForStatus(h, id, 'paused', 10_000);
  // The waiting send stops: its slot, which no message will use, is given back within seconds.
  await eventually(async () => Math.abs((await nextSlot()) - (reserved - SPACING)) < 2, 5000, 'the waiting send giving its slot back');
  const tookMs = Date.now() - asked;
  assert.ok(tookMs < 5000, `the waiting send stopped ${tookMs} ms after the pause`);
  await sleep(Math.max(0, slotAt - Date.now()) + 2000);
  assert.equal(messagesFor(h, id).length, 1, 'nothing sent while paused');

  assert.equal((await h.api('POST', `/api/v1/campaigns/${id}/resume`, {})).status, 200);
  await waitForStatus(h, id, 'completed', 60_000);
  assertOncePerRecipient(h, id, 2);
  const [a, b] = messagesFor(h, id).map((m) => m.receivedAt.getTime());
  assert.ok(b! - a! >= SPACING - 1000, `the resumed message kept the pace: ${b! - a!} ms after the first`);
});
