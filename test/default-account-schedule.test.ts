import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { appSettingsFrom } from '../src/api/app.js';
import { apiEnvSchema, parseEnv } from '../src/config.js';
import { campaignBody, createCampaign, waitForStatus } from './helpers/campaigns.js';
import { startExtraApi, type ExtraApi } from './helpers/app.js';
import { API_KEY, startHarness, type Harness } from './helpers/harness.js';

// The `default` account (SMTP_URL) has its limits from SMTP_MESSAGES_PER_MINUTE/DAY and
// SMTP_SEND_WINDOW. The API plans schedules with them exactly as the workers keep them: here an
// API configured from the environment, as src/api/main.ts configures it.

let h: Harness;
let api: ExtraApi;
before(async () => {
  h = await startHarness({ imap: false });
  const config = parseEnv(apiEnvSchema, { ...h.workerEnv, API_KEY, SMTP_MESSAGES_PER_DAY: '10', SMTP_MESSAGES_PER_MINUTE: '5' });
  api = await startExtraApi(h, appSettingsFrom(config));
});
after(async () => {
  await api?.close();
  await h?.close();
});

test('a campaign on the default account with SMTP_MESSAGES_PER_DAY set shows a multi-day schedule at review', async () => {
  const id = await createCampaign(h, campaignBody(25));
  await waitForStatus(h, id, 'awaiting_review');
  const review = await api.api('GET', `/api/v1/campaigns/${id}/review`);
  assert.equal(review.status, 200, JSON.stringify(review.body));
  // 10 a day: 25 messages take three days (10, 10, 5); the first ten at 5 a minute take 108 s.
  assert.equal(review.body.schedule?.days, 3, JSON.stringify(review.body.schedule));
  const finish = Date.parse(review.body.schedule.finish);
  assert.ok(finish - Date.now() > 2 * 24 * 3600_000, `finishes two days from now or later: ${review.body.schedule.finish}`);
  assert.match(review.body.schedule.summary, /^3 days, finishing \w+day \d+ \w+ \d\d:\d\d \(UTC\)$/);
  const shown = await api.api('GET', `/api/v1/campaigns/${id}`);
  assert.equal(shown.body.schedule?.days, 3, JSON.stringify(shown.body.schedule));
});

test('a three-message campaign on the default account with no limits or window says it goes in seconds, not a day', async () => {
  const id = await createCampaign(h, campaignBody(3));
  await waitForStatus(h, id, 'awaiting_review');
  // Sent at once (the assumed 2,400 a minute): done a second after an approval, today.
  const seconds = /^\d+ seconds?, finishing (\w+day \d+ \w+ )?\d\d:\d\d \(UTC\)$/; // the day named only past midnight
  const review = await h.api('GET', `/api/v1/campaigns/${id}/review`);
  assert.equal(review.status, 200, JSON.stringify(review.body));
  assert.match(review.body.schedule?.summary ?? '', seconds, JSON.stringify(review.body.schedule));
  assert.ok(Date.parse(review.body.schedule.finish) - Date.now() < 60_000, `finishes within a minute: ${review.body.schedule.finish}`);
  const shown = await h.api('GET', `/api/v1/campaigns/${id}`);
  assert.match(shown.body.schedule?.summary ?? '', seconds, JSON.stringify(shown.body.schedule));
});
