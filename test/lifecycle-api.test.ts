import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { campaignBody, createCampaign, messagesFor, waitForStatus } from './helpers/campaigns.js';
import { transitionResponse } from '../src/contract/responses.js';
import { assertConforms } from './helpers/conforms.js';
import { bearer, createKey, eventually, startHarness, type Harness } from './helpers/harness.js';

// Pause, resume, cancel, approve and reject through REST: 200 { status } or 409 { error, status },
// the workflow's own answer. Slow sending (one connection, 300 a minute) leaves time to act.

let h: Harness;
before(async () => {
  h = await startHarness({ imap: false, env: { SMTP_MAX_CONNECTIONS: '1', SMTP_MESSAGES_PER_MINUTE: '300' } });
});
after(async () => {
  await h?.close();
});

const post = (id: string, action: string, body: unknown = {}, headers: Record<string, string> = {}) =>
  h.api('POST', `/api/v1/campaigns/${id}/${action}`, body, headers);

function assertConflict(res: { status: number; body: any }, status: string) {
  assert.equal(res.status, 409, JSON.stringify(res.body));
  assert.equal(res.body.status, status);
  assert.equal(typeof res.body.error, 'string');
}

async function auditActions(id: string): Promise<{ action: string; principal: string }[]> {
  const res = await h.api('GET', `/api/v1/audit?campaign=${id}&limit=100`);
  assert.equal(res.status, 200);
  return res.body.items.map((r: { action: string; principal: string }) => ({ action: r.action, principal: r.principal })).reverse();
}

describe('every transition through REST, each 409, and an audit row for each', () => {
  test('awaiting review: pause and resume are 409; reject is 200; then everything is 409 rejected', async () => {
    const id = await createCampaign(h, campaignBody(2));
    await waitForStatus(h, id, 'awaiting_review');
    assertConflict(await post(id, 'pause'), 'awaiting_review');
    assertConflict(await post(id, 'resume'), 'awaiting_review');
    const reject = await post(id, 'reject', { note: 'wrong list' });
    assert.equal(reject.status, 200);
    assert.deepEqual(reject.body, { status: 'rejected' });
    for (const action of ['approve', 'reject', 'pause', 'resume', 'cancel']) {
      assertConflict(await post(id, action), 'rejected');
    }
    assert.deepEqual(await auditActions(id), [
      { action: 'campaign.create', principal: 'admin' },
      { action: 'campaign.reject', principal: 'admin' },
    ]);
  });

  test('sending: pause, 409 on a second pause, resume, 409 on a second resume, cancel, then 409 cancelled', async () => {
    const id = await createCampaign(h, campaignBody(30));
    await waitForStatus(h, id, 'awaiting_review');
    const approve = await post(id, 'approve', { note: 'looks right' });
    assert.equal(approve.status, 200, JSON.stringify(approve.body));
    assert.deepEqual(approve.body, { status: 'sending' });
    assertConflict(await post(id, 'approve'), 'sending');
    await eventually(async () => messagesFor(h, id).length >= 2, 30_000, 'the first messages');

    const pause = await post(id, 'pause', { reason: 'checking a complaint' });
    assert.equal(pause.status, 200, JSON.stringify(pause.body));
    assert.deepEqual(pause.body, { status: 'paused' });
    assertConforms(transitionResponse, pause.body);
    assertConflict(await post(id, 'pause'), 'paused');
    const paused = await h.api('GET', `/api/v1/campaigns/${id}`);
    assert.equal(paused.body.status, 'paused');
    assert.match(paused.body.reason, /admin/);

    const resume = await post(id, 'resume');
    assert.equal(resume.status, 200, JSON.stringify(resume.body));
    assert.deepEqual(resume.body, { status: 'sending' });
    assertConflict(await post(id, 'resume'), 'sending');

    const cancel = await post(id, 'cancel', { reason: 'enough' });
    assert.equal(cancel.status, 200, JSON.stringify(cancel.body));
    assert.deepEqual(cancel.body, { status: 'cancelled' });
    const final = await waitForStatus(h, id, 'cancelled');
    assert.ok(final.counts.sent < 30, 'cancel stopped the campaign before its end');
    // The workflow has closed: the answer comes from the record, still a 409 with the status.
    await eventually(async () => (await h.client.workflow.getHandle(`campaign-${id}`).describe()).status.name !== 'RUNNING', 30_000, 'the workflow to close');
    for (const action of ['approve', 'reject', 'pause', 'resume', 'cancel']) {
      assertConflict(await post(id, action), 'cancelled');
    }

    const rows = await h.api('GET', `/api/v1/audit?campaign=${id}&limit=100`);
    const actions = rows.body.items.map((r: { action: string }) => r.action).reverse();
    assert.deepEqual(actions, ['campaign.create', 'campaign.approve', 'campaign.pause', 'campaign.resume', 'campaign.cancel']);
    const pauseRow = rows.body.items.find((r: { action: string }) => r.action === 'campaign.pause');
    assert.equal(pauseRow.principal, 'admin');
    assert.equal(pauseRow.details.reason, 'checking a complaint');
    assert.equal(pauseRow.details.status, 'paused');
  });

  test('a body with an unknown field is a 422 naming it, and changes nothing', async () => {
    const id = await createCampaign(h, campaignBody(1));
    await waitForStatus(h, id, 'awaiting_review');
    const res = await post(id, 'cancel', { reason: 'x', force: true });
    assert.equal(res.status, 422);
    assert.match(res.body.problems[0].message, /force/);
    assert.equal((await h.api('GET', `/api/v1/campaigns/${id}`)).body.status, 'awaiting_review');
  });
});

describe('four eyes: review.distinctReviewer', () => {
  test('the creator cannot approve; another principal can, and is recorded as the reviewer', async () => {
    const author = await createKey(h, { name: 'author', scopes: ['campaigns:write', 'campaigns:read', 'campaigns:review'] });
    const reviewer = await createKey(h, { name: 'reviewer', scopes: ['campaigns:review', 'campaigns:read'] });
    const created = await h.api('POST', '/api/v1/campaigns', campaignBody(1, { review: { distinctReviewer: true } }), bearer(author.key));
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const id = created.body.id;
    await waitForStatus(h, id, 'awaiting_review');

    const own = await post(id, 'approve', {}, bearer(author.key));
    assert.equal(own.status, 403);
    assert.match(own.body.error, /four-eyes/);
    assert.equal(own.body.status, 'awaiting_review');
    assert.equal((await h.api('GET', `/api/v1/campaigns/${id}`)).body.status, 'awaiting_review');

    const other = await post(id, 'approve', { note: 'second pair of eyes' }, bearer(reviewer.key));
    assert.equal(other.status, 200, JSON.stringify(other.body));
    const done = await waitForStatus(h, id, 'completed');
    assert.equal(done.review.by, 'key:reviewer');
    assert.equal(done.createdBy, 'key:author');
    assert.deepEqual(done.reviewPolicy, { distinctReviewer: true });
  });

  test('an approve Signal cannot stand in for the second reviewer: it is refused and logged', async () => {
    const author = await createKey(h, { name: 'signal-author', scopes: ['campaigns:write', 'campaigns:read', 'campaigns:review'] });
    const reviewer = await createKey(h, { name: 'signal-reviewer', scopes: ['campaigns:review', 'campaigns:read'] });
    const created = await h.api('POST', '/api/v1/campaigns', campaignBody(1, { review: { distinctReviewer: true } }), bearer(author.key));
    const id = created.body.id;
    await waitForStatus(h, id, 'awaiting_review');

    await h.client.workflow.getHandle(`campaign-${id}`).signal('approve', { by: 'someone else, allegedly' });
    const refused = await eventually(async () => {
      const [row] = await h.sql`SELECT principal FROM audit_log WHERE campaign_id = ${id} AND action = 'campaign.approve_refused'`;
      return row;
    }, 15_000, 'the refusal in the audit log');
    assert.equal(refused.principal, 'signal:someone else, allegedly');
    const still = await h.api('GET', `/api/v1/campaigns/${id}`);
    assert.equal(still.body.status, 'awaiting_review');
    assert.match(still.body.reason, /approve signal from "someone else, allegedly" was refused: this campaign needs a distinct reviewer/);
    assert.equal(messagesFor(h, id).length, 0);

    // the API, where the approver is known, still approves it
    assert.equal((await post(id, 'approve', {}, bearer(reviewer.key))).status, 200);
    const done = await waitForStatus(h, id, 'completed');
    assert.equal(done.review.by, 'key:signal-reviewer');
    assert.equal(done.reason, undefined);
  });

  test('without the rule the creator may approve its own campaign', async () => {
    const author = await createKey(h, { name: 'solo', scopes: ['campaigns:write', 'campaigns:read', 'campaigns:review'] });
    const created = await h.api('POST', '/api/v1/campaigns', campaignBody(1), bearer(author.key));
    await waitForStatus(h, created.body.id, 'awaiting_review');
    const own = await post(created.body.id, 'approve', {}, bearer(author.key));
    assert.equal(own.status, 200, JSON.stringify(own.body));
  });
});
