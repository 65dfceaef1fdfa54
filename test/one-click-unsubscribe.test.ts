import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { campaignBody, createCampaign, messagesFor, suppressedAddresses, waitForStatus } from './helpers/campaigns.js';
import { API_KEY, startHarness, type Harness } from './helpers/harness.js';
import { randomBytes } from 'node:crypto';
import { UnsubscribeLinks } from '../src/unsubscribe/token.js';
import { startExtraApi } from './helpers/app.js';

const PUBLIC_URL = 'https://mailer.example.test';
let h: Harness;
let campaign: string;
/** Each recipient's message as the SMTP server received it, by address. */
const received = new Map<string, string>();

before(async () => {
  h = await startHarness({ imap: false, env: { PUBLIC_URL } });
  campaign = await createCampaign(h, campaignBody(3, { listUnsubscribe: { oneClick: true, mailto: 'unsubscribe@acme.test' } }));
  await waitForStatus(h, campaign, 'awaiting_review');
});
after(async () => {
  await h?.close();
});

/** The header block of a message, folded lines joined. */
const headerLines = (raw: string) => raw.split('\r\n\r\n')[0]!.replace(/\r\n[ \t]+/g, ' ').split('\r\n');
const linkOf = (raw: string) => /^List-Unsubscribe: <(https:[^>]+)>/m.exec(headerLines(raw).join('\r\n'))![1]!;
const post = (url: string, body?: URLSearchParams | FormData, headers: Record<string, string> = {}) =>
  fetch(h.baseUrl + new URL(url).pathname, { method: 'POST', body, headers });

test('the preview shows the List-Unsubscribe headers, and the SMTP server receives exactly the RFC 8058 fields', async () => {
  const preview = await h.api('GET', `/api/v1/campaigns/${campaign}/recipients/1/preview`);
  assert.equal(preview.status, 200);
  assert.equal(preview.body.headers.length, 2);
  assert.match(preview.body.headers[0].value, /^<https:\/\/mailer\.example\.test\/unsubscribe\/[^>]+>, <mailto:unsubscribe@acme\.test\?subject=unsubscribe>$/);
  assert.deepEqual(preview.body.headers[1], { key: 'List-Unsubscribe-Post', value: 'List-Unsubscribe=One-Click' });

  assert.equal((await h.api('POST', `/api/v1/campaigns/${campaign}/approve`, {})).status, 200);
  await waitForStatus(h, campaign, 'completed', 60_000);
  for (const m of messagesFor(h, campaign)) received.set(m.to[0]!, m.raw.toString('utf8'));
  assert.equal(received.size, 3);
  const links = new Set<string>();
  for (const [address, raw] of received) {
    const lines = headerLines(raw);
    // RFC 8058 §3.1: one List-Unsubscribe with an HTTPS URI, one List-Unsubscribe-Post with exactly this value.
    const lu = lines.filter((l) => /^list-unsubscribe:/i.test(l));
    const lup = lines.filter((l) => /^list-unsubscribe-post:/i.test(l));
    assert.equal(lu.length, 1, `one List-Unsubscribe for ${address}`);
    assert.deepEqual(lup, ['List-Unsubscribe-Post: List-Unsubscribe=One-Click']);
    assert.match(lu[0]!, /^List-Unsubscribe: <https:\/\/mailer\.example\.test\/unsubscribe\/[0-9a-f-]{36}\.[1-3]\.[A-Za-z0-9_-]{43}>, <mailto:unsubscribe@acme\.test\?subject=unsubscribe>$/);
    assert.ok(!lu[0]!.includes(address), 'the address itself is not in the link');
    links.add(linkOf(raw));
  }
  assert.equal(links.size, 3, 'each recipient has a link of its own');
  // The preview was byte for byte what was sent.
  const eml = await fetch(`${h.baseUrl}/api/v1/campaigns/${campaign}/recipients/1/preview`, { headers: { authorization: `Bearer ${API_KEY}`, accept: 'message/rfc822' } });
  assert.equal(await eml.text(), received.get('customer1@example.com'));
});

test('a GET shows a confirmation page and changes nothing; a forged or altered link answers 404 and changes nothing', async () => {
  const link = linkOf(received.get('customer1@example.com')!);
  const page = await fetch(h.baseUrl + new URL(link).pathname);
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-type')!, /^text\/html/);
  const text = await page.text();
  assert.match(text, /<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click">/);
  assert.match(text, /c\*\*\*@example\.com/);
  assert.deepEqual(await suppressedAddresses(h), []);

  const [, id, mac] = /\/unsubscribe\/([^.]+)\.\d+\.(.+)$/.exec(link)!;
  const flipped = mac!.slice(0, -2) + (mac!.at(-2) === 'A' ? 'B' : 'A') + mac!.at(-1);
  const forged = [
    `${PUBLIC_URL}/unsubscribe/${id}.1.${flipped}`, // one character of the MAC changed
    `${PUBLIC_URL}/unsubscribe/${id}.2.${mac}`, // customer1's MAC on customer2
    `${PUBLIC_URL}/unsubscribe/00000000-0000-4000-8000-000000000000.1.${mac}`, // another campaign
    `${PUBLIC_URL}/unsubscribe/${id}.1.${'A'.repeat(43)}`,
    `${PUBLIC_URL}/unsubscribe/not-a-token`,
  ];
  for (const url of forged) {
    const res = await post(url, new URLSearchParams({ 'List-Unsubscribe': 'One-Click' }));
    assert.equal(res.status, 404, url);
    assert.equal((await fetch(h.baseUrl + new URL(url).pathname)).status, 404, url);
  }
  assert.deepEqual(await suppressedAddresses(h), [], 'no forged link suppressed anyone');
  // The right link without the RFC 8058 body is refused too.
  assert.equal((await post(link)).status, 400);
  assert.equal((await post(link, new URLSearchParams({ 'List-Unsubscribe': 'Yes' }))).status, 400);
  assert.deepEqual(await suppressedAddresses(h), []);
});

test('a one-click POST suppresses the address once, audited; a later campaign excludes it', async () => {
  const link = linkOf(received.get('customer1@example.com')!);
  for (let i = 0; i < 2; i++) {
    const res = await post(link, new URLSearchParams({ 'List-Unsubscribe': 'One-Click' }));
    assert.equal(res.status, 200);
    assert.match(await res.text(), /You are unsubscribed/);
  }
  // What a mail provider may send instead: multipart/form-data.
  const form = new FormData();
  form.set('List-Unsubscribe', 'One-Click');
  assert.equal((await post(linkOf(received.get('customer2@example.com')!), form)).status, 200);
  assert.deepEqual(await suppressedAddresses(h), ['customer1@example.com', 'customer2@example.com']);

  const audit = await h.api('GET', '/api/v1/audit?action=suppression.unsubscribe');
  assert.equal(audit.body.items.length, 2, 'one row per address, not per POST');
  const row = audit.body.items.find((r: { subject: string }) => r.subject === 'customer1@example.com');
  assert.equal(row.principal, 'list-unsubscribe');
  assert.equal(row.campaignId, campaign);

  const later = await createCampaign(h, campaignBody(3, { name: 'December statements' }));
  const built = await waitForStatus(h, later, 'awaiting_review');
  assert.equal(built.countsByStatus.build.excluded, 2);
  const items = (await h.api('GET', `/api/v1/campaigns/${later}/recipients?buildStatus=excluded`)).body.items;
  assert.deepEqual(items.map((r: { email: string; buildReasons: string[] }) => [r.email, r.buildReasons[0]?.split(':')[0]]), [
    ['customer1@example.com', 'suppressed'],
    ['customer2@example.com', 'suppressed'],
  ]);
});

test('listUnsubscribe is validated: oneClick must be true, mailto an address', async () => {
  for (const [listUnsubscribe, path] of [
    [{ oneClick: false }, 'listUnsubscribe.oneClick'],
    [{ oneClick: true, mailto: 'not an address' }, 'listUnsubscribe.mailto'],
    [{ oneClick: true, extra: 1 }, 'listUnsubscribe'],
  ] as const) {
    const res = await h.api('POST', '/api/v1/campaigns', campaignBody(1, { listUnsubscribe }));
    assert.equal(res.status, 422);
    assert.ok(res.body.problems.some((p: { path: string }) => p.path === path), JSON.stringify(res.body.problems));
  }
});

test('a link keeps working through a rotation of every installation key: it is signed with its campaign’s own key', async () => {
  const link = linkOf(received.get('customer3@example.com')!);
  // The rotation the README describes, done to the end: an API started with a new MASTER_KEY, the
  // old one no longer in MASTER_KEY_PREVIOUS, and an UNSUBSCRIBE_KEY set where there was none.
  const masterKey = randomBytes(32).toString('hex');
  const rotated = await startExtraApi(h, { masterKey, unsubscribeLinks: new UnsubscribeLinks({ publicUrl: PUBLIC_URL, masterKey, previousMasterKeys: [], key: randomBytes(24).toString('base64') }) });
  const postTo = (url: string, body: URLSearchParams) => fetch(rotated.baseUrl + new URL(url).pathname, { method: 'POST', body });
  try {
    const page = await fetch(rotated.baseUrl + new URL(link).pathname);
    assert.equal(page.status, 200, 'the confirmation page still opens');
    const res = await postTo(link, new URLSearchParams({ 'List-Unsubscribe': 'One-Click' }));
    assert.equal(res.status, 200);
    assert.ok((await suppressedAddresses(h)).includes('customer3@example.com'));
    // And a link with its MAC moved to another recipient still does not verify.
    const other = linkOf(received.get('customer1@example.com')!).replace(/\.[A-Za-z0-9_-]{43}$/, link.slice(-44));
    assert.equal((await postTo(other, new URLSearchParams({ 'List-Unsubscribe': 'One-Click' }))).status, 404);
  } finally {
    await rotated.close();
  }
});
