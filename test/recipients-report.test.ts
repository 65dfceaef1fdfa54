import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { parse } from 'csv-parse/sync';
import { campaignBody, createCampaign, waitForStatus } from './helpers/campaigns.js';
import { API_KEY, bearer, startHarness, type Harness } from './helpers/harness.js';
import { randomUUID } from 'node:crypto';
import { insertCampaign } from '../src/db/campaigns.js';
import { insertRecipients } from '../src/db/recipients.js';
import * as responses from '../src/contract/responses.js';
import { assertConforms } from './helpers/conforms.js';

// A sent campaign's recipients and counts, and the CSV report, streamed at 20,000 recipients.

let h: Harness;
before(async () => {
  h = await startHarness({ imap: false });
});
after(async () => {
  await h?.close();
});

describe('recipients and report.csv of a sent campaign', () => {
  let id: string;
  before(async () => {
    const body = campaignBody(5);
    delete (body.recipients[3] as { vars?: unknown }).vars; // no balance: this one is blocked
    id = await createCampaign(h, body);
    await waitForStatus(h, id, 'awaiting_review');
    assert.equal((await h.api('POST', `/api/v1/campaigns/${id}/approve`, {})).status, 200);
    await waitForStatus(h, id, 'completed');
  });

  test('GET /campaigns/:id counts recipients per build, send and Sent-copy status', async () => {
    const res = await h.api('GET', `/api/v1/campaigns/${id}`);
    assertConforms(responses.campaignResponse, res.body);
    assert.deepEqual(res.body.countsByStatus, {
      build: { ready: 4, warning: 0, needs_review: 0, blocked: 1, excluded: 0 },
      send: { pending: 0, sending: 0, sent: 4, failed: 0, cancelled: 0, skipped: 1, bounced: 0 },
      copy: { not_requested: 5, pending: 0, appended: 0, failed: 0 },
    });
  });

  test('GET /campaigns/:id/recipients pages in list order and filters by each status', async () => {
    const first = await h.api('GET', `/api/v1/campaigns/${id}/recipients?limit=3`);
    assert.equal(first.status, 200);
    assertConforms(responses.recipientListResponse, first.body);
    assert.deepEqual(first.body.items.map((r: { id: number }) => r.id), [1, 2, 3]);
    const second = await h.api('GET', `/api/v1/campaigns/${id}/recipients?limit=3&cursor=${first.body.nextCursor}`);
    assert.deepEqual(second.body.items.map((r: { id: number }) => r.id), [4, 5]);
    assert.equal(second.body.nextCursor, undefined);
    assert.equal(first.body.items[0].email, 'customer1@example.com');
    assert.equal(first.body.items[0].sendStatus, 'sent');
    assert.match(first.body.items[0].messageId, new RegExp(id));

    const sent = await h.api('GET', `/api/v1/campaigns/${id}/recipients?status=sent`);
    assert.deepEqual(sent.body.items.map((r: { id: number }) => r.id), [1, 2, 3, 5]);
    const blocked = await h.api('GET', `/api/v1/campaigns/${id}/recipients?buildStatus=blocked`);
    assert.deepEqual(blocked.body.items.map((r: { id: number }) => r.id), [4]);
    assert.equal(blocked.body.items[0].sendStatus, 'skipped');
    const copies = await h.api('GET', `/api/v1/campaigns/${id}/recipients?copyStatus=appended`);
    assert.deepEqual(copies.body.items, []);
  });

  test('report.csv has one row per recipient with statuses, Message-ID, SMTP reply and times', async () => {
    const res = await fetch(`${h.baseUrl}/api/v1/campaigns/${id}/report.csv`, { headers: bearer(API_KEY) });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/csv/);
    const rows = parse(await res.text(), { columns: true }) as Record<string, string>[];
    assert.equal(rows.length, 5);
    const byId = new Map(rows.map((r) => [r.recipient_id, r]));
    const db = await h.sql`SELECT id, message_id, smtp_response, sent_at FROM recipients WHERE campaign_id = ${id} ORDER BY id`;
    for (const r of db) {
      const row = byId.get(String(r.id))!;
      assert.equal(row.email, `customer${r.id}@example.com`);
      assert.equal(row.message_id, r.messageId ?? '');
      assert.equal(row.smtp_response, r.smtpResponse ?? '');
      assert.equal(row.sent_at, r.sentAt ? (r.sentAt as Date).toISOString() : '');
    }
    assert.equal(byId.get('1')!.send_status, 'sent');
    assert.match(byId.get('1')!.smtp_response ?? '', /^250/);
    assert.ok(byId.get('1')!.sent_at);
    assert.equal(byId.get('4')!.build_status, 'blocked');
    assert.equal(byId.get('4')!.send_status, 'skipped');
    assert.match(byId.get('4')!.build_reasons ?? '', /balance/);
    assert.equal(byId.get('1')!.copy_status, 'not_requested');
  });
});

test('report.csv streams a 20,000-recipient campaign, every row once, in list order', async (t) => {
  const id = randomUUID();
  await insertCampaign(h.sql, {
    id,
    name: 'Large report',
    definition: { from: { address: 'a@acme.test' }, subject: 's', text: 't', account: 'default' },
    source: { type: 'inline', recipients: [] },
    workflowId: `campaign-${id}`,
  });
  const n = 20_000;
  for (let start = 1; start <= n; start += 5000) {
    await insertRecipients(h.sql, id, Array.from({ length: 5000 }, (_, i) => ({
      id: start + i,
      email: `r${start + i}@example.com`,
      name: `Name, with "quotes" ${start + i}`,
      vars: {},
      buildStatus: 'ready' as const,
      buildReasons: [],
    })));
  }
  const started = performance.now();
  const res = await fetch(`${h.baseUrl}/api/v1/campaigns/${id}/report.csv`, { headers: bearer(API_KEY) });
  const text = await res.text();
  const ms = performance.now() - started;
  const rows = parse(text, { columns: true }) as Record<string, string>[];
  t.diagnostic(`report.csv of ${n} recipients: ${Math.round(ms)} ms, ${text.length} bytes`);
  assert.equal(rows.length, n);
  assert.deepEqual(rows.map((r) => Number(r.recipient_id)), Array.from({ length: n }, (_, i) => i + 1));
  assert.equal(rows[41]!.name, 'Name, with "quotes" 42');
});
