import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { SmtpSink } from '../src/dev/smtp-sink.js';
import { WEEKDAYS } from '../src/contract/send-window.js';
import { campaignBody, createCampaign, waitForStatus } from './helpers/campaigns.js';
import { eventually, startHarness, type Harness } from './helpers/harness.js';

// A send window that opens and closes while a campaign runs, through the real worker, Temporal
// and an SMTP server: nothing goes before it opens, nothing after it closes, the campaign says why
// it waits, the review shows the schedule, and pause, resume and cancel work during the wait.

let h: Harness;
let sink: SmtpSink;
const MINUTE = 60_000;
const WEEK = 7 * 24 * 3600_000;

before(async () => {
  h = await startHarness({ imap: false });
  sink = new SmtpSink();
  await sink.start(0);
});
after(async () => {
  await sink?.stop();
  await h?.close();
});

const hhmm = (t: number) => new Date(t).toISOString().slice(11, 16);
const get = async (id: string) => (await h.api('GET', `/api/v1/campaigns/${id}`)).body;

describe('send windows', () => {
  test('a window opening and closing during a campaign: sends only inside it, says why it waits, and plans the rest for next week', async () => {
    const smtp = { host: '127.0.0.1', port: sink.port, security: 'plain' };
    const created = await h.api('POST', '/api/v1/accounts', { name: 'office-hours', smtp, limits: { messagesPerMinute: 12 } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const id = await createCampaign(h, campaignBody(20, { account: 'office-hours' }));
    await waitForStatus(h, id, 'awaiting_review');

    // Windows are whole minutes: the account gets its window once the campaign is built, so that
    // the wait for it to open covers only the review and the approval. It is the next whole minute
    // at least 6 s away, on that day of the week, in UTC: the review, the approval and the check
    // that the campaign waits take well under a second, and that check needs them done 3 s before
    // the window opens, so 6 s leaves them 3 s even when the minute turns right after.
    const opens = Math.ceil((Date.now() + 6_000) / MINUTE) * MINUTE;
    const closes = opens + MINUTE;
    const window = { days: [WEEKDAYS[(new Date(opens).getUTCDay() + 6) % 7]], from: hhmm(opens), to: hhmm(closes) === '00:00' ? '24:00' : hhmm(closes), timeZone: 'UTC' };
    const updated = await h.api('PUT', '/api/v1/accounts/office-hours', { smtp, limits: { messagesPerMinute: 12, sendWindow: window } });
    assert.equal(updated.status, 200, JSON.stringify(updated.body));
    assert.deepEqual(updated.body.limits.sendWindow, window);
    // 12 a minute is one message every 5.05 s: messages 0-11 fit in the minute (11 x 5.05 = 55.55 s),
    // the other 8 go when the window opens again a week later, the last 7 x 5.05 = 35.35 s into it.
    const review = await h.api('GET', `/api/v1/campaigns/${id}/review`);
    // (Planned from the moment of reading: exact while that is before the window opens.)
    if (Date.now() < opens) assert.deepEqual(
      { start: review.body.schedule?.start, finish: review.body.schedule?.finish, days: review.body.schedule?.days },
      { start: new Date(opens).toISOString(), finish: new Date(opens + WEEK + 35_350).toISOString(), days: 2 },
    );
    assert.equal((await h.api('POST', `/api/v1/campaigns/${id}/approve`, {})).status, 200);

    // Before the window opens: sending, nothing at the server, and the reason says until when.
    if (Date.now() < opens - 3000) {
      const waiting = await eventually(async () => {
        const c = await get(id);
        return c.status === 'sending' ? c : undefined;
      });
      assert.equal(waiting.reason, `outside the send window until ${new Date(opens).toISOString()}`);
      assert.equal(waiting.schedule?.start, new Date(opens).toISOString());
      assert.equal(sink.messages.length, 0);
    }
    await eventually(async () => sink.messages.length >= 3 || undefined, opens - Date.now() + 45_000, 'the first messages once the window opens');
    await eventually(async () => Date.now() > closes + 8000 || undefined, closes - Date.now() + 20_000, 'the window to close');

    const sent = sink.messages.map((m) => m.receivedAt.getTime());
    assert.ok(sent.length >= 3 && sent.length <= 12, `between 3 and 12 messages went in the minute the window was open (${sent.length})`);
    for (const t of sent) assert.ok(t >= opens && t < closes + 1000, `a message at ${new Date(t).toISOString()} is inside ${window.from}-${window.to}`);
    const waiting = await get(id);
    assert.equal(waiting.status, 'sending');
    assert.equal(waiting.reason, `outside the send window until ${new Date(opens + WEEK).toISOString()}`);
    assert.equal(waiting.counts.sent, sent.length);
    assert.equal(waiting.schedule?.start.slice(0, 16), new Date(opens + WEEK).toISOString().slice(0, 16));

    // Pause, resume and cancel while the rest waits for next week's window.
    assert.equal((await h.api('POST', `/api/v1/campaigns/${id}/pause`, { reason: 'check the list' })).status, 200);
    await waitForStatus(h, id, 'paused');
    assert.equal((await h.api('POST', `/api/v1/campaigns/${id}/resume`, {})).status, 200);
    await waitForStatus(h, id, 'sending');
    const cancel = await h.api('POST', `/api/v1/campaigns/${id}/cancel`, {});
    assert.equal(cancel.status, 200, JSON.stringify(cancel.body));
    const cancelled = await waitForStatus(h, id, 'cancelled', 60_000);
    assert.equal(cancelled.counts.sent, sent.length);
    assert.equal(cancelled.countsByStatus.send.cancelled, 20 - sent.length);
    assert.equal(sink.messages.length, sent.length, 'nothing more went out');
  });

  test('a bad window is a 422 naming the field, for accounts and campaigns', async () => {
    const account = await h.api('POST', '/api/v1/accounts', {
      name: 'nowhere',
      smtp: { host: '127.0.0.1', port: sink.port, security: 'plain' },
      limits: { sendWindow: { days: ['mon'], from: '08:00', to: '18:00', timeZone: 'Atlantis/Capital' } },
    });
    assert.equal(account.status, 422);
    assert.deepEqual(account.body.problems.map((p: { path: string }) => p.path), ['limits.sendWindow.timeZone']);
    const campaign = await h.api('POST', '/api/v1/campaigns', campaignBody(1, { sendWindow: { days: ['someday'], from: '08:00', to: '18:00', timeZone: 'UTC' } }));
    assert.equal(campaign.status, 422);
    assert.equal(campaign.body.problems[0].path, 'sendWindow.days.0');
  });
});
