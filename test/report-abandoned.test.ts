import assert from 'node:assert/strict';
import { request, type IncomingMessage } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { createCampaign, waitForStatus } from './helpers/campaigns.js';
import { API_KEY, startHarness, type Harness } from './helpers/harness.js';

// report.csv downloads that are abandoned or read slowly hold no PostgreSQL connection: the
// harness's API has a pool of 3, so three held connections would freeze every route.

const ROWS = 60_000;
let h: Harness;
let id: string;

before(async () => {
  h = await startHarness({ imap: false });
  id = await createCampaign(h, {
    name: 'Big report',
    from: 'billing@acme.test',
    subject: 'Statement',
    text: 'Hello',
    recipients: [{ email: 'first@example.com' }],
  });
  await waitForStatus(h, id, 'awaiting_review');
  // A report bigger than the socket buffers on both sides (about 12 MB), so a download that is
  // not read really makes the server wait. Written directly: building 60,000 rows through the
  // list would only make the test slower, and the report reads the same table either way.
  await h.sql`
    INSERT INTO recipients (campaign_id, id, email, name, build_reasons)
    SELECT ${id}, n, 'customer' || n || '@example.com', repeat('Long Name ', 12) || n, ARRAY['warning-' || repeat('x', 40)]
    FROM generate_series(2, ${ROWS}) AS n`;
});
after(async () => {
  await h?.close();
});

const reportUrl = () => new URL(`${h.baseUrl}/api/v1/campaigns/${id}/report.csv`);

/** Starts a download and hands back the response once its first bytes have arrived. */
function startDownload(): Promise<{ res: IncomingMessage; abort(): void }> {
  return new Promise((resolve, reject) => {
    const req = request(reportUrl(), { headers: { authorization: `Bearer ${API_KEY}` } }, (res) => {
      res.once('data', () => {
        res.pause();
        resolve({ res, abort: () => req.destroy() });
      });
      res.once('error', () => {});
    });
    req.once('error', (err) => {
      if ((err as NodeJS.ErrnoException).code !== 'ECONNRESET') reject(err);
    });
    req.end();
  });
}

/** Every route that needs the database answers, each within `withinMs`. */
async function everyRouteAnswers(withinMs: number) {
  const paths = [
    `/api/v1/campaigns/${id}`,
    '/api/v1/campaigns',
    `/api/v1/campaigns/${id}/recipients?limit=5`,
    `/api/v1/campaigns/${id}/review?limit=5`,
    '/api/v1/audit?limit=5',
    '/api/v1/suppressions',
    '/api/v1/keys',
  ];
  await Promise.all(
    paths.map(async (path) => {
      const started = Date.now();
      const res = await fetch(`${h.baseUrl}${path}`, { headers: { authorization: `Bearer ${API_KEY}` }, signal: AbortSignal.timeout(withinMs) });
      await res.arrayBuffer();
      assert.equal(res.status, 200, path);
      assert.ok(Date.now() - started < withinMs, `${path} took ${Date.now() - started} ms`);
    }),
  );
}

describe('report.csv', () => {
  test('20 downloads abandoned mid-stream leave every route answering promptly', async () => {
    const downloads = await Promise.all(Array.from({ length: 20 }, () => startDownload()));
    for (const d of downloads) d.abort();
    await everyRouteAnswers(5_000);
    // And a whole report still comes through, every row of it.
    const res = await fetch(reportUrl(), { headers: { authorization: `Bearer ${API_KEY}` }, signal: AbortSignal.timeout(60_000) });
    const text = await res.text();
    assert.equal(res.status, 200);
    assert.equal(text.trimEnd().split('\n').length, ROWS + 1);
  });

  test('downloads that stop reading hold no connection while they wait', async () => {
    const stalled = await Promise.all(Array.from({ length: 5 }, () => startDownload()));
    try {
      // They are paused, not gone: the server is waiting for them to read.
      assert.ok(stalled.every((d) => !d.res.destroyed && !d.res.complete));
      await everyRouteAnswers(5_000);
    } finally {
      for (const d of stalled) d.abort();
    }
  });
});
