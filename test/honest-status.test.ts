import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { approve, assertOncePerRecipient, campaignBody, createCampaign, messagesFor, waitForStatus } from './helpers/campaigns.js';
import { eventually, sleep, startHarness, type Harness } from './helpers/harness.js';

// A status a person reads is true when it is read: a campaign never reads `cancelled` or
// `completed` while a recipient is still pending or being sent.

let h: Harness;
before(async () => {
  // One message a second: sends in flight hold throttle slots up to 30 s ahead when cancelled.
  h = await startHarness({ imap: false, env: { SMTP_MAX_CONNECTIONS: '1', SMTP_MESSAGES_PER_MINUTE: '60' } });
});
after(async () => {
  await h?.close();
});

/**
 * Reads the campaign's status and its unfinished recipients in one statement (one snapshot),
 * over and over until stopped; answers every status seen and every moment the status ran ahead.
 */
function watch(id: string) {
  const seen = new Set<string>();
  const lies: string[] = [];
  let on = true;
  const done = (async () => {
    while (on) {
      const [row] = await h.sql<{ status: string; unfinished: number }[]>`
        SELECT c.status,
               (SELECT count(*)::int FROM recipients r
                 WHERE r.campaign_id = c.id AND r.send_status IN ('pending', 'sending')) AS unfinished
        FROM campaigns c WHERE c.id = ${id}`;
      seen.add(row!.status);
      if ((row!.status === 'cancelled' || row!.status === 'completed') && row!.unfinished > 0) {
        lies.push(`${row!.status} with ${row!.unfinished} unfinished`);
      }
      await sleep(50);
    }
  })();
  return {
    seen,
    lies,
    async stop() {
      on = false;
      await done;
    },
  };
}

async function unfinishedViaApi(id: string): Promise<number> {
  let n = 0;
  for (const status of ['pending', 'sending']) {
    const res = await h.api('GET', `/api/v1/campaigns/${id}/recipients?status=${status}&limit=500`);
    assert.equal(res.status, 200);
    n += res.body.items.length;
  }
  return n;
}

test('right after the cancel answer the campaign reads cancelling while sends are in flight, and cancelled only once no recipient is pending', async () => {
  const id = await createCampaign(h, campaignBody(40));
  await approve(h, id);
  await eventually(async () => messagesFor(h, id).length >= 3, 60_000, 'the first messages');
  // A relay that takes 14 s to answer DATA: the send inside it outlasts the cancel's 10 s wait.
  h.sink.faults.dataDelayMs = 14_000;
  await eventually(
    async () => (await h.sql`SELECT 1 FROM delivery_ledger WHERE campaign_id = ${id} AND state = 'sending'`).length > 0,
    30_000,
    'a send inside the slow SMTP transaction',
  );
  const watcher = watch(id);

  const answer = await h.api('POST', `/api/v1/campaigns/${id}/cancel`, { reason: 'wrong list' });
  h.sink.faults.dataDelayMs = 0;
  const atAnswer = messagesFor(h, id).length;
  if (answer.status === 202) {
    // A busy worker: the cancel (10 s of the API's 15 s are its own wait) was accepted and is
    // under way when the API stopped waiting, and the answer says so with the record's status.
    assert.equal(answer.body.pending, 'cancel', JSON.stringify(answer.body));
    assert.ok(['sending', 'cancelling'].includes(answer.body.status), JSON.stringify(answer.body));
    await eventually(async () => (await h.api('GET', `/api/v1/campaigns/${id}`)).body.status !== 'sending', 30_000, 'the accepted cancel recorded');
  } else {
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    // The send inside the slow transaction is still in flight when the 10 s wait ends.
    assert.deepEqual(answer.body, { status: 'cancelling' });
  }
  const now = await h.api('GET', `/api/v1/campaigns/${id}`);
  const unfinished = await unfinishedViaApi(id);
  assert.ok(['cancelling', 'cancelled'].includes(now.body.status), now.body.status);
  if (now.body.status === 'cancelled') assert.equal(unfinished, 0, 'cancelled with recipients unfinished');
  else assert.ok(unfinished > 0, 'cancelling: some recipients are still to be settled');
  assert.match(now.body.reason, /cancelled by admin: wrong list/);

  // A second cancel, a pause or a resume meanwhile is a conflict naming the current status.
  for (const action of ['cancel', 'pause', 'resume']) {
    const again = await h.api('POST', `/api/v1/campaigns/${id}/${action}`, {});
    assert.equal(again.status, 409, `${action}: ${JSON.stringify(again.body)}`);
    assert.ok(['cancelling', 'cancelled'].includes(again.body.status), again.body.status);
  }

  const final = await waitForStatus(h, id, 'cancelled', 120_000);
  assert.equal(await unfinishedViaApi(id), 0);
  assert.equal(final.countsByStatus.send.pending + final.countsByStatus.send.sending, 0);
  await watcher.stop();
  assert.deepEqual(watcher.lies, [], 'the record never read cancelled with recipients unfinished');
  assert.ok(watcher.seen.has('cancelling'), `statuses seen: ${[...watcher.seen].join(', ')}`);

  const delivered = messagesFor(h, id).length;
  assert.ok(delivered <= atAnswer + 1, `at most the message in SMTP at the answer went out (${atAnswer} → ${delivered})`);
  assert.equal(final.counts.sent, delivered);
  assert.equal(final.countsByStatus.send.cancelled, 40 - delivered);
  assertOncePerRecipient(h, id, delivered);
  const result = await h.client.workflow.getHandle(`campaign-${id}`).result();
  assert.deepEqual(result, { status: 'cancelled' });
});

test('cancel while awaiting review answers cancelled at once, with every recipient cancelled', async () => {
  const id = await createCampaign(h, campaignBody(5));
  await waitForStatus(h, id, 'awaiting_review');
  const answer = await h.api('POST', `/api/v1/campaigns/${id}/cancel`, {});
  assert.deepEqual(answer.body, { status: 'cancelled' });
  const now = await h.api('GET', `/api/v1/campaigns/${id}`);
  assert.equal(now.body.status, 'cancelled');
  assert.equal(await unfinishedViaApi(id), 0);
  assert.equal(now.body.countsByStatus.send.cancelled, 5);
});

test('a campaign never reads completed while a recipient is unfinished', async () => {
  const id = await createCampaign(h, campaignBody(6));
  const watcher = watch(id);
  await approve(h, id);
  const done = await waitForStatus(h, id, 'completed', 90_000);
  await watcher.stop();
  assert.deepEqual(watcher.lies, []);
  assert.equal(done.counts.sent, 6);
  assertOncePerRecipient(h, id, 6);
});
