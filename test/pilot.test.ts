import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { parse } from 'csv-parse/sync';
import { Worker } from '@temporalio/worker';
import { WORKFLOWS_PATH } from '../src/worker/create.js';
import { recordHistories } from './helpers/histories.js';
import { approve, campaignBody, createCampaign, sentCountsTo, waitForStatus } from './helpers/campaigns.js';
import { API_KEY, bearer, createKey, DEFAULT_ACCOUNT_ALLOWED, startHarness, type Harness } from './helpers/harness.js';

// A pilot batch, then the rest, through the real servers: the API, Temporal, a worker, Postgres
// and the SMTP sink. Each test writes to addresses of its own, so the sink's messages say exactly
// who got what.

let h: Harness;
const ALL = ['campaigns:write', 'campaigns:read', 'campaigns:review', 'keys:admin'];

before(async () => {
  h = await startHarness({ imap: false });
});
after(async () => {
  await h?.close();
});

/** A campaign to `n` addresses `<tag>-<i>@example.com`, with a pilot batch. */
function pilotCampaign(tag: string, n: number, pilot: Record<string, unknown>) {
  const body = campaignBody(n, { pilot });
  body.recipients = body.recipients.map((r, i) => ({ ...r, email: `${tag}-${i + 1}@example.com` }));
  return body;
}

/** How many messages the sink got for each address of `tag`. */

describe('the contract', () => {
  test('pilot settings are checked field by field', async () => {
    for (const [pilot, path, message] of [
      [{ size: 0 }, 'pilot.size', /at least 1/],
      [{ size: 2, share: 0.1 }, 'pilot.size', /exactly one of size or share/],
      [{}, 'pilot.size', /exactly one of size or share/],
      [{ share: 1.5 }, 'pilot.share', /less than 1/],
      [{ size: 2, sample: 'best' }, 'pilot.sample', /"first" or "random"/],
      [{ size: 2, stopIf: { failedShare: 0 } }, 'pilot.stopIf.failedShare', /more than 0/],
      [{ size: 2, seed: 4 }, 'pilot.seed', /only for sample "random"/],
      [{ size: 2 ** 31 }, 'pilot.size', /^must be at most 2147483647$/],
      [{ size: 2, sample: 'random', seed: -1 }, 'pilot.seed', /^must be at least 0$/],
      [{ size: 2, sample: 'random', seed: 2 ** 40 }, 'pilot.seed', /^must be at most 2147483647$/],
      [{ size: 2, sample: 'random', seed: '7' }, 'pilot.seed', /^must be a whole number/],
    ] as const) {
      const res = await h.api('POST', '/api/v1/campaigns', campaignBody(2, { pilot }));
      assert.equal(res.status, 422, JSON.stringify(res.body));
      const problem = (res.body.problems as { path: string; message: string }[]).find((p) => p.path === path);
      assert.ok(problem, `${JSON.stringify(pilot)}: ${JSON.stringify(res.body.problems)}`);
      assert.match(problem.message, message);
    }
  });
});

describe('pilot, then the rest', () => {
  test('the first N go, the campaign waits at pilot_sent with the outcomes; continue sends every other recipient exactly once; report.csv marks the pilot', async () => {
    const id = await createCampaign(h, pilotCampaign('first', 6, { size: 2 }));
    const early = await h.api('POST', `/api/v1/campaigns/${id}/continue`, {});
    await approve(h, id);
    const waiting = await waitForStatus(h, id, 'pilot_sent');
    assert.deepEqual(
      { chosen: waiting.pilot.chosen, sent: waiting.pilot.sent, failed: waiting.pilot.failed, bounced: waiting.pilot.bounced, failures: waiting.pilot.failures },
      { chosen: 2, sent: 2, failed: 0, bounced: 0, failures: [] },
    );
    assert.match(waiting.reason, /pilot batch of 2 was sent/);
    assert.deepEqual([...sentCountsTo(h, 'first').keys()].sort(), ['first-1@example.com', 'first-2@example.com']);
    assert.ok(early.status === 409, JSON.stringify(early.body));

    const res = await h.api('POST', `/api/v1/campaigns/${id}/continue`, { note: 'looks right' });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.status, 'sending');
    const again = await h.api('POST', `/api/v1/campaigns/${id}/continue`, {});
    assert.equal(again.status, 409, JSON.stringify(again.body));
    assert.ok(typeof again.body.status === 'string');
    const done = await waitForStatus(h, id, 'completed');
    assert.equal(done.counts.sent, 6);
    const got = sentCountsTo(h, 'first');
    assert.equal(got.size, 6);
    assert.ok([...got.values()].every((n) => n === 1), `each once: ${JSON.stringify([...got])}`);

    const csv = await fetch(`${h.baseUrl}/api/v1/campaigns/${id}/report.csv`, { headers: bearer(API_KEY) });
    const rows = parse(await csv.text(), { columns: true }) as Record<string, string>[];
    assert.deepEqual(rows.map((r) => [r.email, r.pilot]), [
      ['first-1@example.com', 'true'],
      ['first-2@example.com', 'true'],
      ...[3, 4, 5, 6].map((i) => [`first-${i}@example.com`, 'false']),
    ]);
    const audit = await h.sql`SELECT action FROM audit_log WHERE campaign_id = ${id} AND action = 'campaign.continue'`;
    assert.equal(audit.length, 1, 'the continue is audited once');
  });

  test('a pilot that takes the whole list (a size over it, or a share that rounds to all) completes after it, saying so: no continue', async () => {
    for (const [tag, pilot] of [['whole-size', { size: 5 }], ['whole-share', { share: 0.9 }]] as const) {
      const id = await createCampaign(h, pilotCampaign(tag, 3, pilot));
      await approve(h, id);
      const done = await waitForStatus(h, id, 'completed');
      assert.equal(done.reason, 'the pilot batch of 3 was the whole list (3 sent, 0 failed or bounced); nothing was left to continue', tag);
      assert.equal(done.counts.sent, 3);
      assert.equal(done.pilot.chosen, 3);
      const got = sentCountsTo(h, tag);
      assert.equal(got.size, 3);
      assert.ok([...got.values()].every((n) => n === 1), `each once: ${JSON.stringify([...got])}`);
      const late = await h.api('POST', `/api/v1/campaigns/${id}/continue`, {});
      assert.equal(late.status, 409, JSON.stringify(late.body));
      const csv = await fetch(`${h.baseUrl}/api/v1/campaigns/${id}/report.csv`, { headers: bearer(API_KEY) });
      const rows = parse(await csv.text(), { columns: true }) as Record<string, string>[];
      assert.deepEqual(rows.map((r) => r.pilot), ['true', 'true', 'true'], 'each was the pilot');
    }
  });

  test('a share with a seeded random sample: at least one, the same recipients the seed picks', async () => {
    const id = await createCampaign(h, pilotCampaign('share', 20, { share: 0.1, sample: 'random', seed: 11 }));
    await approve(h, id);
    const waiting = await waitForStatus(h, id, 'pilot_sent');
    assert.equal(waiting.pilot.chosen, 2);
    assert.equal(waiting.pilot.seed, 11);
    const pilot = await h.sql<{ id: number }[]>`SELECT id FROM recipients WHERE campaign_id = ${id} AND pilot ORDER BY id`;
    const { pickPilot } = await import('../src/build/pilot-sample.js');
    const ids = Array.from({ length: 20 }, (_, i) => i + 1);
    assert.deepEqual(pilot.map((r) => r.id), pickPilot(ids, { share: 0.1, sample: 'random', seed: 11 }));
    assert.deepEqual([...sentCountsTo(h, 'share').keys()].sort(), pilot.map((r) => `share-${r.id}@example.com`).sort());
    assert.equal((await h.api('POST', `/api/v1/campaigns/${id}/continue`, {})).status, 200);
    await waitForStatus(h, id, 'completed');
    assert.equal(sentCountsTo(h, 'share').size, 20);
  });

  test('a random sample without a seed shows the one set at creation, and that seed is the one that picked', async () => {
    const id = await createCampaign(h, pilotCampaign('seeded', 30, { size: 4, sample: 'random' }));
    const built = await waitForStatus(h, id, 'awaiting_review');
    const { seed } = built.pilot;
    assert.ok(Number.isInteger(seed) && seed >= 0, `a seed is shown before the batch is chosen: ${JSON.stringify(built.pilot)}`);
    await approve(h, id);
    const waiting = await waitForStatus(h, id, 'pilot_sent');
    assert.equal(waiting.pilot.seed, seed, 'the same seed after the batch is chosen');
    const pilot = await h.sql<{ id: number }[]>`SELECT id FROM recipients WHERE campaign_id = ${id} AND pilot ORDER BY id`;
    const { pickPilot } = await import('../src/build/pilot-sample.js');
    const ids = Array.from({ length: 30 }, (_, i) => i + 1);
    assert.deepEqual(pilot.map((r) => r.id), pickPilot(ids, { size: 4, sample: 'random', seed }));
    assert.equal((await h.api('POST', `/api/v1/campaigns/${id}/cancel`, {})).status, 200);
  });

  test('stopIf: a pilot that failed at the share stays at pilot_sent naming it; continue needs force', async () => {
    h.sink.faults.rcpt = (address) => (address === 'stop-1@example.com' ? { code: 550, message: '5.1.1 no such user here' } : undefined);
    try {
      const id = await createCampaign(h, pilotCampaign('stop', 5, { size: 2, stopIf: { failedShare: 0.5 } }));
      await approve(h, id);
      const waiting = await waitForStatus(h, id, 'pilot_sent');
      assert.match(waiting.reason, /1 of 2 pilot recipients failed or bounced \(50%\)/);
      assert.equal(waiting.pilot.failed, 1);
      assert.equal(waiting.pilot.failures[0].email, 'stop-1@example.com');
      assert.match(`${waiting.pilot.failures[0].smtpResponse ?? ''} ${waiting.pilot.failures[0].error ?? ''}`, /550/);
      const plain = await h.api('POST', `/api/v1/campaigns/${id}/continue`, {});
      assert.equal(plain.status, 409, JSON.stringify(plain.body));
      assert.equal(plain.body.status, 'pilot_sent');
      assert.match(plain.body.error, /50%.*force/);
      const forced = await h.api('POST', `/api/v1/campaigns/${id}/continue`, { force: true });
      assert.equal(forced.status, 200, JSON.stringify(forced.body));
      const done = await waitForStatus(h, id, 'completed');
      assert.equal(done.counts.sent, 4);
      assert.ok([...sentCountsTo(h, 'stop').values()].every((n) => n === 1));
    } finally {
      h.sink.faults = {};
    }
  });

  test('stopIf counts the bounces that arrive after the pilot is out', async () => {
    const id = await createCampaign(h, pilotCampaign('late', 4, { size: 2, stopIf: { failedShare: 0.5 } }));
    await approve(h, id);
    const waiting = await waitForStatus(h, id, 'pilot_sent');
    assert.match(waiting.reason, /pilot batch of 2 was sent/);
    // What the INBOX check writes when a delivery report for one of them comes in.
    await h.sql`UPDATE recipients SET send_status = 'bounced', error = '550 5.1.1 mailbox unknown' WHERE campaign_id = ${id} AND id = 1`;
    const res = await h.api('POST', `/api/v1/campaigns/${id}/continue`, {});
    assert.equal(res.status, 409, JSON.stringify(res.body));
    assert.match(res.body.error, /1 of 2 pilot recipients failed or bounced \(50%\).*force/);
    const read = (await h.api('GET', `/api/v1/campaigns/${id}`)).body;
    const shown = read.pilot;
    assert.equal(shown.bounced, 1);
    assert.match(shown.stopped, /50%/);
    // The campaign's reason says so too, not the outcome of the moment the batch went out.
    assert.equal(read.status, 'pilot_sent');
    assert.equal(read.reason, shown.stopped);
    assert.equal((await h.api('POST', `/api/v1/campaigns/${id}/continue`, { force: true })).status, 200);
    await waitForStatus(h, id, 'completed');
    assert.equal(sentCountsTo(h, 'late').size, 4);
  });

  test('reject and cancel at pilot_sent: nothing more is sent', async () => {
    for (const action of ['reject', 'cancel'] as const) {
      const tag = `end-${action}`;
      const id = await createCampaign(h, pilotCampaign(tag, 4, { size: 1 }));
      await approve(h, id);
      await waitForStatus(h, id, 'pilot_sent');
      const res = await h.api('POST', `/api/v1/campaigns/${id}/${action}`, {});
      assert.equal(res.status, 200, JSON.stringify(res.body));
      const final = await waitForStatus(h, id, action === 'reject' ? 'rejected' : 'cancelled');
      assert.equal(final.counts.sent, 1);
      assert.deepEqual([...sentCountsTo(h, tag).keys()], [`${tag}-1@example.com`]);
      const late = await h.api('POST', `/api/v1/campaigns/${id}/continue`, {});
      assert.equal(late.status, 409, JSON.stringify(late.body));
    }
  });

  test('a reject at pilot_sent says who rejected it and their note; a forced continue says it was forced', async () => {
    const rejected = await createCampaign(h, pilotCampaign('said-reject', 3, { size: 1 }));
    await approve(h, rejected);
    await waitForStatus(h, rejected, 'pilot_sent');
    assert.equal((await h.api('POST', `/api/v1/campaigns/${rejected}/reject`, { note: 'the figures are wrong' })).status, 200);
    const ended = await waitForStatus(h, rejected, 'rejected');
    assert.match(ended.reason ?? '', /^rejected after the pilot by .+: the figures are wrong$/);

    h.sink.faults.rcpt = (address) => (address === 'said-force-1@example.com' ? { code: 550, message: '5.1.1 no such user here' } : undefined);
    try {
      const forced = await createCampaign(h, pilotCampaign('said-force', 3, { size: 1, stopIf: { failedShare: 0.5 } }));
      await approve(h, forced);
      await waitForStatus(h, forced, 'pilot_sent');
      // The rest is held at the end of DATA, so the campaign is read while it sends.
      h.sink.faults = { dataDelayMs: 3_000 };
      assert.equal((await h.api('POST', `/api/v1/campaigns/${forced}/continue`, { force: true, note: 'list checked' })).status, 200);
      const going = (await h.api('GET', `/api/v1/campaigns/${forced}`)).body;
      assert.match(going.reason ?? '', /^continued after the pilot by .+: list checked \(forced past the pilot's stopIf share\)$/, JSON.stringify(going));
      h.sink.faults = {};
      await waitForStatus(h, forced, 'completed');
    } finally {
      h.sink.faults = {};
    }
  });

  test('four eyes: the creator may not continue, another person may', async () => {
    const put = await h.api('PUT', '/api/v1/tenants/pilot-careful', { review: { fourEyesRequired: true }, ...DEFAULT_ACCOUNT_ALLOWED });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    const author = (await createKey(h, { name: 'author', scopes: ALL, tenant: 'pilot-careful' })).key;
    const reviewer = (await createKey(h, { name: 'reviewer', scopes: ['campaigns:review', 'campaigns:read'], tenant: 'pilot-careful' })).key;
    const id = await createCampaign(h, pilotCampaign('eyes', 3, { size: 1 }), author);
    await approve(h, id, reviewer);
    await waitForStatus(h, id, 'pilot_sent', { key: author });
    const own = await h.api('POST', `/api/v1/campaigns/${id}/continue`, {}, bearer(author));
    assert.equal(own.status, 403, JSON.stringify(own.body));
    assert.match(own.body.error, /four-eyes rule/);
    const other = await h.api('POST', `/api/v1/campaigns/${id}/continue`, {}, bearer(reviewer));
    assert.equal(other.status, 200, JSON.stringify(other.body));
    await waitForStatus(h, id, 'completed', { key: author });
    assert.equal(sentCountsTo(h, 'eyes').size, 3);
  });
});

describe('histories', () => {
  // With RECORD_HISTORIES=v4 the longest pilot campaign and one of its deliveries are kept under
  // test/histories, so later workflow code is replayed against the pilot's shape too.
  test('the pilot campaigns of this file replay on the current code', async () => {
    const histories = [];
    for await (const wf of h.client.workflow.list({ query: `TaskQueue = "${h.taskQueue}"` })) {
      if (wf.status.name === 'RUNNING') continue;
      histories.push({ workflowId: wf.workflowId, history: await h.client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory() });
    }
    assert.ok(histories.some((x) => /^campaign-[0-9a-f-]+$/.test(x.workflowId)), 'includes campaign workflows');
    const options = process.env.WORKFLOW_BUNDLE_PATH ? { workflowBundle: { codePath: process.env.WORKFLOW_BUNDLE_PATH } } : { workflowsPath: WORKFLOWS_PATH };
    for await (const result of Worker.runReplayHistories(options, histories)) assert.equal(result.error, undefined, `${result.workflowId} replays: ${result.error}`);
    await recordHistories(histories);
  });
});
