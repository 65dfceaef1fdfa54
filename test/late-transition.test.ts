import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { ensureConsoleBuilt, launchBrowser, openPage, screenshot, signIn } from './helpers/browser.js';
import { campaignBody, createCampaign, approve, waitForStatus } from './helpers/campaigns.js';
import { API_KEY, eventually, startHarness, type Harness } from './helpers/harness.js';
import { WorkerProcess } from './helpers/worker-process.js';

// A transition the API could not see finished in time is answered with what is known, never
// "not recorded": the Update is the workflow's once a worker takes it, and it is applied once.

let h: Harness;
let worker: WorkerProcess;
let browser: Browser | undefined;
before(async () => {
  await ensureConsoleBuilt();
  // Slow sends: the campaign is still sending when each test pauses it.
  h = await startHarness({ inProcessWorker: false, imap: false, env: { SMTP_MESSAGES_PER_MINUTE: '20' } });
  worker = new WorkerProcess({ ...h.workerEnv, WORKFLOW_BUNDLE_PATH: process.env.WORKFLOW_BUNDLE_PATH ?? '' });
  await worker.start();
});
after(async () => {
  await browser?.close();
  await worker?.stop();
  await h?.close();
});

async function sendingCampaign(): Promise<string> {
  const id = await createCampaign(h, campaignBody(30));
  await approve(h, id);
  await waitForStatus(h, id, 'sending');
  return id;
}

/** Holds the campaign's row (as a slow write would) until `release` is called: a pause is accepted by the workflow, and its record waits. */
async function holdCampaignRow(id: string): Promise<{ release(): Promise<void> }> {
  let release!: () => void;
  const released = new Promise<void>((ok) => (release = ok));
  let locked!: () => void;
  const isLocked = new Promise<void>((ok) => (locked = ok));
  const holding = h.sql.begin(async (tx) => {
    await tx`SELECT 1 FROM campaigns WHERE id = ${id} FOR NO KEY UPDATE`;
    locked();
    await released;
  });
  await isLocked;
  return {
    async release() {
      release();
      await holding;
    },
  };
}

const pauses = async (id: string) => h.sql<{ principal: string }[]>`SELECT principal FROM audit_log WHERE campaign_id = ${id} AND action = 'campaign.pause'`;
const requestRow = async (requestId: string) => (await h.sql`SELECT 1 FROM decision_requests WHERE id = ${requestId}`).length;

test('with no worker running a pause is a 503 saying it is pending; the worker applies it once when it is back, a retry with the same Idempotency-Key is the same pause', { timeout: 240_000 }, async () => {
  const id = await sendingCampaign();
  await worker.stop();

  const key = { 'idempotency-key': `pause-${id}` };
  const first = await h.api('POST', `/api/v1/campaigns/${id}/pause`, { reason: 'checking the list' }, key);
  assert.equal(first.status, 503, JSON.stringify(first.body));
  assert.match(first.body.error, /no worker has taken the pause within 15 s, so it is not applied yet, nor refused: Temporal keeps it for the next worker, which applies it if the campaign still allows a pause then/);
  assert.doesNotMatch(first.body.error, /not recorded/);
  assert.equal(first.body.pending, 'pause');
  assert.equal(first.headers.get('retry-after'), '15');
  assert.equal(first.body.status, 'sending');
  // It may still be applied: its request (the caller the audit row names) stays.
  assert.equal(await requestRow(first.body.requestId), 1);

  // The caller retries with the same key while no worker runs: the same request, the same Update.
  const retry = await h.api('POST', `/api/v1/campaigns/${id}/pause`, { reason: 'checking the list' }, key);
  assert.equal(retry.status, 503, JSON.stringify(retry.body));
  assert.equal(retry.body.requestId, first.body.requestId);
  assert.equal((await h.api('GET', `/api/v1/campaigns/${id}`)).body.status, 'sending', 'nothing applied while no worker runs');

  await worker.start();
  const paused = await waitForStatus(h, id, 'paused', 90_000);
  assert.match(paused.reason, /paused by admin: checking the list/);
  assert.equal((await pauses(id)).length, 1, 'one pause, audited once');
  assert.equal(await requestRow(first.body.requestId), 0, 'the activity took the request');

  // Once more with the key: Temporal answers the Update it already applied.
  const again = await h.api('POST', `/api/v1/campaigns/${id}/pause`, { reason: 'checking the list' }, key);
  assert.equal(again.status, 200, JSON.stringify(again.body));
  assert.deepEqual(again.body, { status: 'paused' });
  // Without it, a new pause: refused, the campaign being paused.
  const other = await h.api('POST', `/api/v1/campaigns/${id}/pause`, {});
  assert.equal(other.status, 409, JSON.stringify(other.body));
  assert.equal((await pauses(id)).length, 1, 'still one pause');
  assert.equal(await requestRow(first.body.requestId), 0, 'the retry left no request behind');

  const cancel = await h.api('POST', `/api/v1/campaigns/${id}/cancel`, {});
  assert.equal(cancel.status, 200, JSON.stringify(cancel.body));
});

test('a pause the workflow accepted but could not finish in time is a 202 with the status the record shows, which the console says; it is applied once', { timeout: 240_000 }, async () => {
  const id = await sendingCampaign();
  browser ??= await launchBrowser();
  const { page, dialogs, errors } = await openPage(browser, h.baseUrl);
  try {
    await signIn(page, API_KEY);
    await page.goto(`/#/campaigns/${id}`);
    await page.locator('h1 .badge').filter({ hasText: 'sending' }).waitFor({ timeout: 30_000 });
    // The campaign's row is held: the workflow accepts the pause (its validator passes), but the
    // activity that records it waits for the lock past the API's 15 s. The pause is the console's.
    const row = await holdCampaignRow(id);
    let answer;
    try {
      await page.getByRole('button', { name: 'Pause' }).click();
      const response = page.waitForResponse((r) => r.request().method() === 'POST' && r.url().endsWith(`/campaigns/${id}/pause`), { timeout: 40_000 });
      await page.getByRole('button', { name: 'Yes, pause' }).click();
      answer = { status: (await response).status(), body: (await (await response).json()) as Record<string, string> };
      assert.equal(answer.status, 202, JSON.stringify(answer.body));
      // Read while the row is still held: once it is free the activity records the pause and takes the request.
      assert.equal(await requestRow(answer.body.requestId ?? ''), 1, 'the request stays for the activity that records it');
      // The console says the campaign is applying it, not that it failed, nor that it is done.
      await page.getByRole('status').filter({ hasText: 'The campaign accepted the pause and is applying it' }).waitFor();
      assert.equal(await page.locator('h1 .badge').textContent(), 'sending', 'the record had not changed yet');
      assert.equal(await page.locator('[role=alert]').count(), 0, 'no error shown');
      await screenshot(page, 'campaign-pause-under-way');
    } finally {
      await row.release();
    }
    assert.equal(answer.body.pending, 'pause');
    assert.equal(answer.body.status, 'sending', 'the record had not changed yet');
    assert.match(answer.body.message!, /the campaign accepted the pause and is applying it/);

    await waitForStatus(h, id, 'paused', 60_000);
    await page.locator('h1 .badge').filter({ hasText: 'paused' }).waitFor({ timeout: 30_000 });
    assert.equal(await page.getByRole('status').filter({ hasText: 'applying it' }).count(), 0, 'the notice goes once the status moved');
    await eventually(async () => (await pauses(id)).length === 1, 30_000, 'the pause audited');
    assert.equal(await requestRow(answer.body.requestId!), 0);
    const again = await h.api('POST', `/api/v1/campaigns/${id}/pause`, {});
    assert.equal(again.status, 409, JSON.stringify(again.body));
    assert.equal((await pauses(id)).length, 1);
    assert.deepEqual([dialogs, errors], [[], []], 'no dialog, no script error');
  } finally {
    await page.context().close();
  }
  await h.api('POST', `/api/v1/campaigns/${id}/cancel`, {});
});
