import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { approve, campaignBody, createCampaign, waitForStatus } from './helpers/campaigns.js';
import { allowDefaultAccount, bearer, createKey, eventually, startHarness, type Harness } from './helpers/harness.js';

// The configured `default` account is shared by every tenant's campaigns, but a quota or
// authentication hold on it is the tenant's own: one tenant's refusal neither pauses another's
// campaigns, shows it the SMTP reply, nor can be lifted by it.

let h: Harness;
let keyX: string;
let keyY: string;
const QUOTA = '5.2.0 STOREDRV.Submission.Exception:SubmissionQuotaExceededException tenant-x-mailbox@x.example';

before(async () => {
  h = await startHarness({ imap: false });
  const scopes = ['campaigns:write', 'campaigns:read', 'campaigns:review'];
  keyX = (await createKey(h, { name: 'x', scopes, tenant: 'tenant-x' })).key;
  keyY = (await createKey(h, { name: 'y', scopes, tenant: 'tenant-y' })).key;
  await allowDefaultAccount(h, 'tenant-x');
  await allowDefaultAccount(h, 'tenant-y');
});
after(async () => {
  await h?.close();
});

test("one tenant's quota hold on the default account neither pauses, shows its reply to, nor is lifted by another tenant", async () => {
  const x1 = await createCampaign(h, campaignBody(2), keyX);
  h.sink.faults.data = (m) => (m.messageId?.includes(x1) ? { code: 554, message: QUOTA } : undefined);
  await approve(h, x1, keyX);
  const heldX = await waitForStatus(h, x1, 'paused', { key: keyX });
  assert.ok(heldX.account.heldSince, JSON.stringify(heldX.account));
  assert.match(heldX.account.holdReason, /SubmissionQuotaExceeded/);

  // tenant Y sends through the same account meanwhile: not paused, and it never sees X's reply
  const y1 = await createCampaign(h, campaignBody(5, { throttle: { messagesPerMinute: 12 } }), keyY);
  await approve(h, y1, keyY);
  await eventually(async () => h.sink.messages.some((m) => m.messageId?.includes(y1)), 30_000, "tenant Y's first message");
  const sendingY = await h.api('GET', `/api/v1/campaigns/${y1}`, undefined, bearer(keyY));
  assert.equal(sendingY.body.status, 'sending', JSON.stringify(sendingY.body));
  assert.equal(sendingY.body.account.heldSince, undefined);
  assert.doesNotMatch(JSON.stringify(sendingY.body), /SubmissionQuota|tenant-x-mailbox/);

  // Y's own pause and resume (a resume is what releases a hold) leave X's hold alone
  assert.equal((await h.api('POST', `/api/v1/campaigns/${y1}/pause`, {}, bearer(keyY))).status, 200);
  assert.equal((await h.api('POST', `/api/v1/campaigns/${y1}/resume`, {}, bearer(keyY))).status, 200);
  const doneY = await waitForStatus(h, y1, 'completed', { key: keyY });
  assert.equal(doneY.counts.sent, 5);
  assert.doesNotMatch(JSON.stringify(doneY), /SubmissionQuota|tenant-x-mailbox/);
  // nor can Y touch X's campaign
  assert.equal((await h.api('POST', `/api/v1/campaigns/${x1}/resume`, {}, bearer(keyY))).status, 404);

  const stillX = await h.api('GET', `/api/v1/campaigns/${x1}`, undefined, bearer(keyX));
  assert.equal(stillX.body.status, 'paused');
  assert.ok(stillX.body.account.heldSince, "X's hold is still there");

  // X's other campaigns stay held, before any SMTP transaction of their own
  let attemptsX2 = 0;
  const x2 = await createCampaign(h, { ...campaignBody(2), name: 'second X run' }, keyX);
  h.sink.faults.data = (m) => {
    if (m.messageId?.includes(x2)) attemptsX2++;
    return m.messageId?.includes(x1) ? { code: 554, message: QUOTA } : undefined;
  };
  await approve(h, x2, keyX);
  const pausedX2 = await waitForStatus(h, x2, 'paused', { key: keyX });
  assert.match(pausedX2.reason, /on hold .*SubmissionQuotaExceeded/);
  assert.equal(attemptsX2, 0);

  // X fixes its side and resumes: its hold is released, and its campaigns finish
  h.sink.faults = {};
  assert.equal((await h.api('POST', `/api/v1/campaigns/${x2}/resume`, {}, bearer(keyX))).status, 200);
  assert.equal((await waitForStatus(h, x2, 'completed', { key: keyX })).account.heldSince, undefined);
  assert.equal((await h.api('POST', `/api/v1/campaigns/${x1}/resume`, {}, bearer(keyX))).status, 200);
  assert.equal((await waitForStatus(h, x1, 'completed', { key: keyX })).counts.sent, 2);
});
