import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { campaignBody, createCampaign, waitForStatus } from './helpers/campaigns.js';
import { RefusingS3Proxy } from './helpers/faulty-s3.js';
import { eventually, startHarness, type Harness } from './helpers/harness.js';

// A build that gives up: an attachment bucket that answers 403 to every attempt. The campaign
// ends `failed` with the reason instead of staying `building`, keeps no recipient rows, and its
// account is free to be deleted.

let h: Harness;
let proxy: RefusingS3Proxy;
const DENIED = 'denied-attachments';
before(async () => {
  proxy = await RefusingS3Proxy.start(process.env.CM_TEST_S3_ENDPOINT ?? 'http://127.0.0.1:1', DENIED);
  // The tenant may read the bucket (its settings allow it); S3 itself refuses.
  h = await startHarness({ imap: false, env: { S3_ENDPOINT: proxy.endpoint, S3_ALLOWED_LOCATIONS: DENIED } });
});
after(async () => {
  await h?.close();
  await proxy?.close();
});

test('an attachment bucket answering 403 to every attempt ends the campaign failed, without rows, its account deletable', async () => {
  const account = await h.api('POST', '/api/v1/accounts', {
    name: 'statements',
    smtp: { host: '127.0.0.1', port: h.sink.port, security: 'plain' },
    limits: { messagesPerMinute: 600, maxConnections: 2 },
  });
  assert.equal(account.status, 201, JSON.stringify(account.body));

  // The first 500 look-ups pass (the objects are missing: those recipients are built, blocked),
  // then every request is refused: the build has written a batch before it gives up. The keys lie
  // at the bucket's root, so there is no folder to list once: every look-up is a HEAD request
  // (a folder would be listed in one request at the first look-up of a list this long).
  proxy.passFirst = 500;
  const body = campaignBody(1000, { account: 'statements', attachments: [{ bucket: DENIED, key: '{{ customerId }}.pdf' }] });
  body.recipients.forEach((r, i) => Object.assign(r.vars, { customerId: `C${i + 1}` }));
  const id = await createCampaign(h, body);
  await eventually(async () => {
    const [row] = await h.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM recipients WHERE campaign_id = ${id}`;
    return row!.n >= 500;
  }, 60_000, 'the first batch to be written');

  const failed = await waitForStatus(h, id, 'failed', 120_000);
  assert.match(failed.error, /^the recipient list could not be built: S3 refused a read on 3 attempts: HTTP 403/);
  assert.ok(proxy.refusals >= 3, `${proxy.refusals} refusals`);
  const [left] = await h.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM recipients WHERE campaign_id = ${id}`;
  assert.equal(left!.n, 0, 'no recipient rows are left behind');
  // The workflow itself ended well: it recorded the failure instead of failing.
  const result = await h.client.workflow.getHandle(`campaign-${id}`).result();
  assert.deepEqual(result, { status: 'failed' });

  // Another attempt at the campaign's Updates answers with the final status.
  const cancel = await h.api('POST', `/api/v1/campaigns/${id}/cancel`, {});
  assert.equal(cancel.status, 409);
  assert.equal(cancel.body.status, 'failed');

  const deleted = await h.api('DELETE', '/api/v1/accounts/statements');
  assert.equal(deleted.status, 200, JSON.stringify(deleted.body));
});
