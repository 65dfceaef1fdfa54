import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { startCampaignWorkflow } from '../src/api/lifecycle.js';
import { campaignWorkflowId } from '../src/contract/workflow-ids.js';
import * as campaigns from '../src/db/campaigns.js';
import { waitForStatus } from './helpers/campaigns.js';
import { bearer, createKey, DEFAULT_ACCOUNT_ALLOWED, startHarness, type Harness } from './helpers/harness.js';

// Two tenants on one installation and one S3 store (moto): each reads only the S3 locations the
// installation's admin gave it, at creation and again at every read (build, preview, test send,
// send), so tenant A can never read tenant B's files whatever it names or its variables say.

let h: Harness;
let bucketA: string;
let bucketB: string;
let keyA: string;
let keyB: string;
const SECRET = 'tenant B secret statement';

before(async () => {
  h = await startHarness({ imap: false });
  bucketA = `${h.bucket}-a`;
  bucketB = `${h.bucket}-b`;
  for (const b of [bucketA, bucketB]) await h.s3.send(new CreateBucketCommand({ Bucket: b }));
  await h.putObject('acme/lists/october.csv', 'email,name,customerId\nann@example.com,Ann,C1\n', bucketA);
  await h.putObject('acme/st/C1.pdf', '%PDF-1.4 statement of Ann', bucketA);
  await h.putObject('secret/list.csv', 'email,name\nvictim@b.example,Victim\n', bucketB);
  await h.putObject('secret/C1.pdf', SECRET, bucketB);
  await h.putObject('secret/C1.pdf', SECRET, bucketA); // outside A's prefix, in A's own bucket

  const a = await h.api('PUT', '/api/v1/tenants/tenant-a', { s3Locations: [{ bucket: bucketA, prefix: 'acme/' }], ...DEFAULT_ACCOUNT_ALLOWED });
  assert.equal(a.status, 200, JSON.stringify(a.body));
  const b = await h.api('PUT', '/api/v1/tenants/tenant-b', { s3Locations: [{ bucket: bucketB }], ...DEFAULT_ACCOUNT_ALLOWED });
  assert.equal(b.status, 200, JSON.stringify(b.body));
  const scopes = ['campaigns:write', 'campaigns:read', 'campaigns:review', 'keys:admin'];
  keyA = (await createKey(h, { name: 'a-admin', scopes, tenant: 'tenant-a' })).key;
  keyB = (await createKey(h, { name: 'b-admin', scopes, tenant: 'tenant-b' })).key;
});
after(async () => {
  await h?.close();
});

const body = (extra: Record<string, unknown>) => ({
  name: 'Statements',
  from: 'Billing <billing@a.example>',
  subject: 'Your statement',
  text: 'Dear {{ name }}',
  ...extra,
});
const ann = [{ email: 'ann@example.com', name: 'Ann', vars: { customerId: 'C1' } }];
const asA = (method: string, path: string, b?: unknown) => h.api(method, path, b, bearer(keyA));

describe('tenant settings', () => {
  test("only the installation's admin changes them; a tenant reads its own, another's is a 404", async () => {
    const own = await asA('GET', '/api/v1/tenants/tenant-a');
    assert.equal(own.status, 200, JSON.stringify(own.body));
    assert.deepEqual(own.body.s3Locations, [{ bucket: bucketA, prefix: 'acme/' }]);
    assert.deepEqual(own.body.review, { skipAllowed: false, fourEyesRequired: false });
    assert.equal(own.body.updatedBy, 'admin');

    const widen = await asA('PUT', '/api/v1/tenants/tenant-a', { s3Locations: [{ bucket: bucketB }] });
    assert.equal(widen.status, 403, JSON.stringify(widen.body));
    assert.match(widen.body.error, /API_KEY/);
    assert.equal((await asA('GET', '/api/v1/tenants/tenant-b')).status, 404);
    assert.equal((await asA('PUT', '/api/v1/tenants/tenant-b', {})).status, 404);
    assert.deepEqual((await asA('GET', '/api/v1/tenants/tenant-a')).body.s3Locations, [{ bucket: bucketA, prefix: 'acme/' }]);

    // the default tenant's locations come from S3_ALLOWED_LOCATIONS until its settings name some
    const dflt = await h.api('GET', '/api/v1/tenants/default');
    assert.equal(dflt.status, 200);
    assert.equal(dflt.body.s3LocationsFrom, 'configuration');
    assert.deepEqual(dflt.body.s3Locations, [{ bucket: h.bucket, prefix: '' }]);
  });

  test('bad settings are a 422 naming the field, and change nothing', async () => {
    for (const [settings, path] of [
      [{ s3Locations: [{ bucket: bucketA, prefix: 'acme/../' }] }, 's3Locations.0.prefix'],
      [{ s3Locations: [{ bucket: bucketA, prefix: '/acme/' }] }, 's3Locations.0.prefix'],
      [{ s3Locations: [{ bucket: 'Not_A_Bucket' }] }, 's3Locations.0.bucket'],
      [{ review: { skipAllowed: 'yes' } }, 'review.skipAllowed'],
      [{ everything: true }, '(body)'],
    ] as const) {
      const res = await h.api('PUT', '/api/v1/tenants/tenant-a', settings);
      assert.equal(res.status, 422, JSON.stringify(res.body));
      assert.equal(res.body.problems[0].path, path, JSON.stringify(res.body));
    }
    assert.deepEqual((await asA('GET', '/api/v1/tenants/tenant-a')).body.s3Locations, [{ bucket: bucketA, prefix: 'acme/' }]);
  });

  test('every change is audited, and the tenant sees who changed its settings', async () => {
    const rows = await asA('GET', '/api/v1/audit?action=tenant.update');
    assert.equal(rows.status, 200, JSON.stringify(rows.body));
    assert.ok(rows.body.items.length >= 1);
    const first = rows.body.items[rows.body.items.length - 1];
    assert.equal(first.principal, 'admin');
    assert.deepEqual(first.details.after.s3Locations, [{ bucket: bucketA, prefix: 'acme/' }]);
  });
});

describe("tenant A naming tenant B's files", () => {
  test('recipientsFrom and attachments outside its locations are a 403 naming the field, a key that could climb out a 422; no campaign is made', async () => {
    const cases: [Record<string, unknown>, string, 403 | 422][] = [
      [{ recipientsFrom: { s3: { bucket: bucketB, key: 'secret/list.csv' } } }, 'recipientsFrom.s3.key', 403],
      [{ recipientsFrom: { s3: { bucket: bucketA, key: 'secret/list.csv' } } }, 'recipientsFrom.s3.key', 403],
      [{ recipients: ann, attachments: [{ bucket: bucketB, key: 'secret/{{ customerId }}.pdf' }] }, 'attachments.0.key', 403],
      [{ recipients: ann, attachments: [{ bucket: bucketA, key: 'acme/st/x.pdf' }, { bucket: bucketA, key: '{{ customerId }}.pdf' }] }, 'attachments.1.key', 403],
      // glob patterns cannot climb out of the prefix
      [{ recipients: ann, attachments: [{ bucket: bucketA, key: 'acme/../secret/*.pdf' }] }, 'attachments.0.key', 422],
      [{ recipients: ann, attachments: [{ bucket: bucketA, key: '/acme/st/*.pdf' }] }, 'attachments.0.key', 422],
      [{ recipients: ann, attachments: [{ bucket: bucketA, key: '**/C1.pdf' }] }, 'attachments.0.key', 403],
      [{ recipients: ann, attachments: [{ bucket: bucketA, key: 'acm*/st/C1.pdf' }] }, 'attachments.0.key', 403],
      [{ recipients: ann, attachments: [{ bucket: bucketA, key: 'acme/st/./../../secret/C1.pdf' }] }, 'attachments.0.key', 422],
    ];
    for (const [extra, path, status] of cases) {
      const res = await asA('POST', '/api/v1/campaigns', body(extra));
      assert.equal(res.status, status, `${JSON.stringify(extra)}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.problems[0].path, path, JSON.stringify(res.body));
    }
    assert.equal((await asA('GET', '/api/v1/campaigns')).body.items.length, 0, 'no campaign was created');
    // and tenant B's own key reads them, so the refusals above are about the tenant, not the files
    const b = await h.api('POST', '/api/v1/campaigns', body({ recipientsFrom: { s3: { bucket: bucketB, key: 'secret/list.csv' } } }), bearer(keyB));
    assert.equal(b.status, 201, JSON.stringify(b.body));
    await waitForStatus(h, b.body.id, 'awaiting_review', { key: keyB });
  });

  test('a location is a folder: prefix "acme" grants acme/…, never acme-other/…', async () => {
    await h.putObject('acme-other/C1.pdf', SECRET, bucketA);
    const c = await h.api('PUT', '/api/v1/tenants/tenant-c', { s3Locations: [{ bucket: bucketA, prefix: 'acme' }], ...DEFAULT_ACCOUNT_ALLOWED });
    assert.equal(c.status, 200, JSON.stringify(c.body));
    const keyC = (await createKey(h, { name: 'c-admin', scopes: ['campaigns:write', 'campaigns:read'], tenant: 'tenant-c' })).key;
    // A variable right after the prefix could name the neighbouring folder: the folder's `/` must come first.
    for (const key of ['acme-other/C1.pdf', 'acme-other/{{ customerId }}.pdf', 'acme-*/C1.pdf', 'acme{{ customerId }}/C1.pdf']) {
      const res = await h.api('POST', '/api/v1/campaigns', body({ recipients: ann, attachments: [{ bucket: bucketA, key }] }), bearer(keyC));
      assert.equal(res.status, 403, `${key}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.problems[0].path, 'attachments.0.key');
    }
    const ok = await h.api('POST', '/api/v1/campaigns', body({ recipients: ann, attachments: [{ bucket: bucketA, key: 'acme/st/{{ customerId }}.pdf' }] }), bearer(keyC));
    assert.equal(ok.status, 201, JSON.stringify(ok.body));
  });

  test('a variable that climbs out of the prefix blocks the recipient at build time without reading S3', async () => {
    const res = await asA('POST', '/api/v1/campaigns', body({
      recipients: [{ email: 'ann@example.com', name: 'Ann', vars: { file: '../../secret/C1.pdf' } }],
      attachments: [{ bucket: bucketA, key: 'acme/st/{{ file }}' }],
    }));
    assert.equal(res.status, 201, JSON.stringify(res.body));
    await waitForStatus(h, res.body.id, 'awaiting_review', { key: keyA });
    const review = await asA('GET', `/api/v1/campaigns/${res.body.id}/review`);
    assert.equal(review.body.items[0].buildStatus, 'blocked');
    assert.match(review.body.items[0].reasons[0], /^attachment-location: .* is outside the S3 locations this tenant may read/);
  });

  test('a stored campaign whose list lies outside its locations fails at build and reads nothing', async () => {
    // As if created before the admin narrowed the tenant's locations: the build checks again.
    const id = randomUUID();
    await campaigns.insertCampaign(h.sql, {
      id,
      name: 'old campaign',
      definition: { from: { address: 'billing@a.example' }, subject: 'x', text: 'Dear {{ name }}', account: 'default' } as never,
      source: { type: 's3', bucket: bucketB, key: 'secret/list.csv' },
      workflowId: campaignWorkflowId(id),
      tenant: 'tenant-a',
      createdBy: 'key:a-admin',
    });
    await startCampaignWorkflow(h.client, { campaignId: id, taskQueue: h.taskQueue, name: 'old campaign', tenant: 'tenant-a' });
    const failed = await waitForStatus(h, id, 'failed', { key: keyA });
    assert.match(failed.error, /cannot be read: LocationDeniedError: s3:\/\/.*secret\/list\.csv is outside the S3 locations/);
    assert.equal(failed.counts.total, 0, 'no recipient of tenant B reached tenant A');
  });
});

describe('locations narrowed after the build', () => {
  test('preview, test send and send all refuse what the tenant may no longer read', async () => {
    const created = await asA('POST', '/api/v1/campaigns', body({
      recipientsFrom: { s3: { bucket: bucketA, key: 'acme/lists/october.csv' } },
      attachments: [{ bucket: bucketA, key: 'acme/st/{{ customerId }}.pdf' }],
    }));
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const id = created.body.id as string;
    await waitForStatus(h, id, 'awaiting_review', { key: keyA });
    const before = await asA('GET', `/api/v1/campaigns/${id}/recipients/1/preview`);
    assert.equal(before.status, 200, JSON.stringify(before.body));
    assert.deepEqual(before.body.attachments.map((a: { filename: string }) => a.filename), ['C1.pdf']);

    const narrowed = await h.api('PUT', '/api/v1/tenants/tenant-a', { s3Locations: [{ bucket: bucketA, prefix: 'acme/lists/' }], testSend: { recipients: ['qa@a.example'] }, ...DEFAULT_ACCOUNT_ALLOWED });
    assert.equal(narrowed.status, 200, JSON.stringify(narrowed.body));

    const preview = await asA('GET', `/api/v1/campaigns/${id}/recipients/1/preview`);
    assert.equal(preview.status, 403, JSON.stringify(preview.body));
    assert.match(preview.body.error, /^attachment-location: s3:\/\/.*acme\/st\/C1\.pdf is outside the S3 locations/);
    const raw = await fetch(`${h.baseUrl}/api/v1/campaigns/${id}/recipients/1/preview`, { headers: { ...bearer(keyA), accept: 'message/rfc822' } });
    assert.equal(raw.status, 403);
    assert.doesNotMatch(await raw.text(), /statement of Ann/);

    const sinkBefore = h.sink.messages.length;
    const testSend = await asA('POST', `/api/v1/campaigns/${id}/test-send`, { to: 'qa@a.example' });
    assert.equal(testSend.status, 403, JSON.stringify(testSend.body));
    assert.match(testSend.body.error, /^attachment-location: .*nothing was sent/);
    assert.equal(h.sink.messages.length, sinkBefore, 'the test send sent nothing');

    const approve = await asA('POST', `/api/v1/campaigns/${id}/approve`, {});
    assert.equal(approve.status, 200, JSON.stringify(approve.body));
    const done = await waitForStatus(h, id, 'completed', { key: keyA });
    assert.equal(done.counts.sent, 0);
    assert.equal(done.counts.failed, 1);
    const recipients = await asA('GET', `/api/v1/campaigns/${id}/recipients`);
    assert.match(recipients.body.items[0].error, /^attachment-location: .*not sent/);
    assert.equal(h.sink.messages.filter((m) => m.messageId?.includes(id)).length, 0, 'nothing reached the SMTP server');

    // the admin widens it again: the same files are the tenant's to read once more
    await h.api('PUT', '/api/v1/tenants/tenant-a', { s3Locations: [{ bucket: bucketA, prefix: 'acme/' }], ...DEFAULT_ACCOUNT_ALLOWED });
    assert.equal((await asA('GET', `/api/v1/campaigns/${id}/recipients/1/preview`)).status, 200);
  });
});
