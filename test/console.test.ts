import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { parse } from 'csv-parse/sync';
import { CAMPAIGN_STATUSES } from '../src/contract/statuses.js';
import { messagesFor } from './helpers/campaigns.js';
import { ensureConsoleBuilt, launchBrowser, openPage, screenshot, screenshotOf, signIn } from './helpers/browser.js';
import { bearer, createKey, eventually, startHarness, type Harness } from './helpers/harness.js';

// The reviewer and operator console in a real Chromium against the real stack (API, worker,
// Temporal, PostgreSQL, moto S3, the SMTP sink): a person's whole job, from a CSV file on disk to
// the messages at the sink, with hostile recipient data that must never run. Each test creates
// what it needs (its campaign, its pages), so any one of them runs alone or in any order, and
// after each one no dialog opened and no script error happened on its pages.

let h: Harness;
let browser: Browser;
const ALL = ['campaigns:read', 'campaigns:write', 'campaigns:review', 'accounts:admin', 'keys:admin'];
const keys: Record<string, string> = {};
/** The pages the running test opened; closed after it, once checked. */
const pages: { page: Page; dialogs: string[]; errors: string[] }[] = [];

const XSS_NAME = '<img src=x onerror=alert(1)>';
const CSV = [
  'email,name,customerId',
  'ann@example.com,Ann,C1',
  `bob@example.com,${XSS_NAME},C2`,
  'cat@example.com,"Cat ""><img src=x onerror=alert(2)>",C3',
  'not-an-address,Nobody,C1',
].join('\n');

// A server standing in for a remote image host: it counts what a preview fetched from it.
const PIXEL = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=', 'base64');
const pixelRequests: string[] = [];
let pixelServer: Server;
let pixelUrl = '';

before(async () => {
  pixelServer = createServer((req, res) => {
    pixelRequests.push(req.url ?? '');
    res.writeHead(200, { 'content-type': 'image/png' }).end(PIXEL);
  });
  await new Promise<void>((resolve) => pixelServer.listen(0, '127.0.0.1', resolve));
  pixelUrl = `http://127.0.0.1:${(pixelServer.address() as AddressInfo).port}/pixel.png`;
  await ensureConsoleBuilt();
  h = await startHarness({ imap: false });
  browser = await launchBrowser();
  await h.putObject('extras/C1.txt', 'extra for C1');
  await h.putObject('extras/C2.txt', 'extra for C2');
  // Four eyes: the creator's key may not approve. The reviewers' test address is the tenant's to list.
  assert.equal((await h.api('PUT', '/api/v1/tenants/default', { review: { fourEyesRequired: true }, testSend: { recipients: ['qa@example.com'] } })).status, 200);
  keys.creator = (await createKey(h, { name: 'creator', scopes: ALL })).key;
  keys.reviewer = (await createKey(h, { name: 'reviewer', scopes: ALL })).key;
  keys.operator = (await createKey(h, { name: 'operator', scopes: ['campaigns:read', 'campaigns:write'] })).key;
});
beforeEach(() => {
  pixelRequests.length = 0;
});
afterEach(async () => {
  const opened = pages.splice(0);
  try {
    for (const p of opened) {
      assert.deepEqual(p.dialogs, [], 'no dialog opened');
      assert.deepEqual(p.errors, [], 'no script error happened');
    }
  } finally {
    await Promise.all(opened.map((p) => p.page.context().close()));
  }
});
after(async () => {
  pixelServer?.close();
  await browser?.close();
  await h?.close();
});

async function page(key: string) {
  const p = await openPage(browser, h.baseUrl);
  pages.push(p);
  await signIn(p.page, key);
  return p.page;
}

const status = (id: string, key = keys.reviewer!) => h.api('GET', `/api/v1/campaigns/${id}`, undefined, bearer(key)).then((r) => r.body.status as string);

const noticesHtml = () =>
  `<p class="greeting">Dear {{ name }},</p><p><a href="javascript:alert(3)">details</a></p><script>alert(4)</script><img src="${pixelUrl}" alt="remote">`;

/** The notices campaign of CSV, created by the creator's key with the body the new-campaign form sends, built and awaiting review. */
async function noticesCampaign(name: string): Promise<string> {
  const res = await h.api(
    'POST',
    '/api/v1/campaigns',
    {
      name,
      from: 'Acme Billing <billing@acme.test>',
      subject: 'Notice for {{ name }}',
      text: 'Dear {{ name }}, see the attachment.',
      html: noticesHtml(),
      attachments: [{ bucket: h.bucket, key: 'extras/{{ customerId }}.txt', required: false }],
      recipientsCsv: CSV,
    },
    bearer(keys.creator!),
  );
  assert.equal(res.status, 201, JSON.stringify(res.body));
  const id = res.body.id as string;
  await eventually(async () => (await status(id)) === 'awaiting_review', 60_000, `${name} to build`);
  return id;
}

/** A gate a held request waits on until the test opens it. */
function gate(): { opened: Promise<void>; open: () => void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

/**
 * A page of `key` at `path` (a campaign awaiting review), its clock stopped once `loaded` is shown:
 * no poll runs, so what it shows after an action is what the action itself made it read.
 */
async function stillPage(key: string, path: string, loaded: string): Promise<Page> {
  const p = await openPage(browser, h.baseUrl);
  pages.push(p);
  await p.page.clock.install();
  await signIn(p.page, key);
  await p.page.goto(path);
  await p.page.locator(loaded).first().waitFor();
  await p.page.clock.pauseAt(new Date(Date.now() + 1000));
  await p.page.waitForTimeout(500); // a poll already on its way lands now, not after the test acts
  await p.page.locator('h1 .badge').filter({ hasText: 'awaiting review' }).waitFor();
  return p.page;
}

/** A page of `key` on the review of campaign `id`, its list shown. */
async function reviewPage(key: string, id: string): Promise<Page> {
  const p = await page(key);
  await p.goto(`/#/campaigns/${id}/review`);
  await p.locator('table.review-list tbody tr').filter({ hasText: 'cat@example.com' }).waitFor();
  return p;
}

describe('the console', () => {
  test('sign in: a wrong key is refused in words; the key stays out of the URL and in sessionStorage only', async () => {
    const p = await openPage(browser, h.baseUrl);
    pages.push(p);
    await p.page.goto('/');
    // While the key is being checked (the request held here), the button says so and takes no second press.
    const held = gate();
    await p.page.route(/\/api\/v1\/me$/, async (route) => {
      await held.opened;
      await route.continue();
    });
    await p.page.getByLabel('API key').fill('cm_wrong');
    await p.page.getByRole('button', { name: 'Sign in' }).click();
    const signingIn = p.page.getByRole('button', { name: 'Signing in…' });
    await signingIn.waitFor();
    assert.equal(await signingIn.isDisabled(), true);
    assert.equal(await p.page.getByRole('alert').count(), 0, 'no error before the answer');
    held.open();
    await p.page.getByRole('alert').filter({ hasText: 'Your API key was not accepted' }).waitFor();
    assert.equal(await p.page.getByRole('button', { name: 'Sign in' }).isEnabled(), true, 'the button is back for another try');
    assert.ok(!((await p.page.getByRole('alert').textContent()) ?? '').includes('cm_wrong'), 'the key is not shown back');
    await p.page.unroute(/\/api\/v1\/me$/);
    // The server out of reach: said in words, with role=alert, not as a status code.
    await p.page.route(/\/api\/v1\/me$/, (route) => route.abort('connectionrefused'));
    await p.page.getByRole('button', { name: 'Sign in' }).click();
    await p.page.getByRole('alert').filter({ hasText: /^The server cannot be reached\. Check the connection and try again\.$/ }).waitFor();
    await p.page.unroute(/\/api\/v1\/me$/);
    const creator = await page(keys.creator!);
    assert.ok(!creator.url().includes(keys.creator!));
    assert.equal(await creator.evaluate<string | null>("sessionStorage.getItem('campaign-mailer.api-key')"), keys.creator);
    assert.equal(await creator.evaluate<number>('localStorage.length'), 0);
    assert.equal(await creator.evaluate<string>('document.cookie'), '');
  });

  test('a page load logs no error in the browser console and no failed request, the page icon included', async () => {
    // A browser of its own: Chromium remembers an icon that failed to load and does not ask again,
    // so an earlier test's pages would hide a missing one.
    const own = await launchBrowser();
    try {
      const p = await openPage(own, h.baseUrl);
      const problems: string[] = [];
      p.page.on('console', (m) => {
        if (m.type() === 'error') problems.push(`console error: ${m.text()} (${m.location().url})`);
      });
      p.page.on('requestfailed', (r) => problems.push(`failed: ${r.url()} (${r.failure()?.errorText})`));
      p.page.on('response', (r) => {
        if (r.status() >= 400) problems.push(`${r.status()}: ${r.url()}`);
      });
      // The sign-in page, then the campaign list signed in.
      await signIn(p.page, keys.reviewer!);
      await p.page.waitForLoadState('networkidle');
      // The browser asks for the icon on its own, after the load; a failure is only seen in the console.
      await p.page.waitForTimeout(1000);
      assert.deepEqual(problems, []);
      assert.deepEqual([...p.dialogs, ...p.errors], [], 'no dialog opened and no script error happened');
      assert.equal(await p.page.locator('link[rel="icon"]').count(), 1, 'the page names its icon');
    } finally {
      await own.close();
    }
  });

  test('a campaign from a CSV file picked on disk, with a live preview, builds and shows its report', async () => {
    const creator = await page(keys.creator!);
    await creator.getByRole('link', { name: 'New campaign' }).first().click();
    await creator.getByLabel('Name', { exact: true }).fill('Notices from a CSV file');
    await creator.getByLabel('From').fill('Acme Billing <billing@acme.test>');
    await creator.getByLabel('Subject').fill('Notice for {{ name }}');
    await creator.getByLabel('Text', { exact: true }).fill('Dear {{ name }}, see the attachment.');
    await creator.getByLabel('HTML', { exact: true }).fill(noticesHtml());
    await creator.locator('input[name=csv]').setInputFiles({ name: 'notices.csv', mimeType: 'text/csv', buffer: Buffer.from(CSV) });
    // The live preview renders the first row as the server would.
    await creator.locator('.preview-subject').filter({ hasText: 'Notice for Ann' }).waitFor();
    await creator.frameLocator('iframe[title="HTML preview"]').locator('p.greeting').filter({ hasText: 'Dear Ann,' }).waitFor();
    await creator.getByLabel('Sample').selectOption({ label: 'bob@example.com' });
    await creator.locator('.preview-subject').filter({ hasText: `Notice for ${XSS_NAME}` }).waitFor();
    // The row whose address the build will block is flagged in words beside the list, and in the list itself.
    const invalid = creator.locator('.live-preview .invalid-addresses');
    await invalid.filter({ hasText: '1 of 4 rows has an address that is not valid; the build will block it' }).waitFor();
    assert.deepEqual(await invalid.getByRole('listitem').allTextContents(), ['Row 4: “not-an-address” is not a valid email address']);
    assert.deepEqual(await creator.getByLabel('Sample').locator('option').allTextContents(), [
      'ann@example.com',
      'bob@example.com',
      'cat@example.com',
      'not-an-address (not a valid address)',
    ]);
    await creator.getByLabel('Sample').selectOption({ index: 3 });
    await creator.locator('.live-preview .flag').filter({ hasText: 'this address is not a valid email address' }).waitFor();
    await creator.locator('.preview-subject').filter({ hasText: 'Notice for Nobody' }).waitFor();
    await creator.getByLabel('Sample').selectOption({ label: 'bob@example.com' });
    assert.equal(await creator.locator('.live-preview .flag').count(), 0, 'a valid sample address is not flagged');
    assert.deepEqual(pixelRequests, [], 'the live preview while typing fetched no remote image');
    await creator.locator('input[name=attBucket]').fill(h.bucket);
    await creator.locator('input[name=attKey]').fill('extras/{{ customerId }}.txt');
    await creator.locator('input[name=attRequired]').uncheck();
    await screenshot(creator, 'new-campaign');
    // A 422 is shown in words beside the form, naming the field; nothing is created.
    await creator.getByLabel('From').fill('nobody');
    await creator.getByRole('button', { name: 'Create and build' }).click();
    await creator.locator('form.campaign-form [role=alert]').filter({ hasText: /^Please correct: from/ }).waitFor();
    const created = (await h.api('GET', '/api/v1/campaigns')).body.items.filter((c: { name: string }) => c.name === 'Notices from a CSV file');
    assert.deepEqual(created, []);
    await creator.getByLabel('From').fill('Acme Billing <billing@acme.test>');
    await creator.getByRole('button', { name: 'Create and build' }).click();
    await creator.waitForURL(/#\/campaigns\/[0-9a-f-]{36}$/);
    await creator.locator('h1 .badge').filter({ hasText: 'awaiting review' }).waitFor({ timeout: 60_000 });
    await creator.getByRole('link', { name: 'Review' }).click();
    const counts = creator.locator('.build-counts');
    await counts.filter({ hasText: '1 needs review' }).waitFor();
    await counts.filter({ hasText: '1 blocked' }).waitFor();
    await counts.filter({ hasText: '2 ready' }).waitFor();
    const rows = creator.locator('table.review-list tbody tr');
    await rows.filter({ hasText: 'cat@example.com' }).filter({ hasText: 'attachment-optional-missing' }).waitFor();
    await rows.filter({ hasText: 'not-an-address' }).filter({ hasText: 'invalid-address' }).waitFor();
    assert.deepEqual(pixelRequests, [], 'no preview fetched the remote image');
  });

  test('preview: headers, the HTML inside a sandboxed frame with remote content blocked, the text part, attachments, next and jump', async () => {
    const campaignId = await noticesCampaign('Notices: preview');
    const creator = await reviewPage(keys.creator!, campaignId);
    const row = creator.locator('table.review-list tbody tr').filter({ hasText: 'cat@example.com' });
    await row.getByRole('button', { name: 'Preview' }).click();
    const preview = creator.locator('#preview');
    await preview.locator('dd.to').filter({ hasText: 'cat@example.com' }).waitFor();
    await preview.locator('dd.subject').filter({ hasText: 'Notice for Cat "><img src=x onerror=alert(2)>' }).waitFor();
    const frameEl = creator.locator('iframe.html-preview');
    assert.equal(await frameEl.getAttribute('sandbox'), '');
    const frame = creator.frameLocator('iframe.html-preview');
    // The name was escaped by the template: it is text inside the paragraph, not an element.
    await frame.locator('p.greeting').filter({ hasText: 'Dear Cat "><img src=x onerror=alert(2)>,' }).waitFor();
    assert.equal(await frame.locator('p.greeting img').count(), 0);
    // The remote image did not load (the frame's CSP and the console's both refuse it).
    const loaded = await frame.locator('img[alt=remote]').evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth > 0);
    assert.equal(loaded, false);
    assert.deepEqual(pixelRequests, [], 'no preview fetched the remote image');
    // Only when the reviewer asks does the remote image load, for this message only.
    await preview.locator('p.remote-images').filter({ hasText: '1 remote image is blocked.' }).waitFor();
    await preview.getByRole('button', { name: 'Load remote images' }).click();
    await eventually(
      () => frame.locator('img[alt=remote]').evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth > 0),
      30_000,
      'the remote image to load after the reviewer asked',
    );
    assert.ok(pixelRequests.length >= 1 && pixelRequests.every((u) => u === '/pixel.png'), `remote image requests: ${pixelRequests.join(', ')}`);
    await preview.getByRole('button', { name: 'Block remote images' }).waitFor();
    assert.match(
      (await h.api('GET', '/')).headers.get('content-security-policy') ?? '',
      /script-src 'self';.*img-src 'self' data: blob: https: http:;.*connect-src 'self'/,
      'the console allows remote images only so that a preview can show them on request',
    );
    // The javascript: link inside the sandboxed frame does nothing when clicked.
    await frame.getByText('details').click();
    await preview.locator('pre.text-part').filter({ hasText: 'Dear Cat' }).waitFor();
    await preview.filter({ hasText: 'None.' }).waitFor(); // cat has no attachment
    await preview.getByRole('button', { name: 'Previous recipient' }).click();
    await preview.locator('dd.to').filter({ hasText: 'bob@example.com' }).waitFor();
    // Another recipient's message starts with its remote images blocked again.
    await preview.locator('p.remote-images').filter({ hasText: '1 remote image is blocked.' }).waitFor();
    await preview.locator('ul.attachments li').filter({ hasText: 'C2.txt (12 B)' }).waitFor();
    const [eml] = await Promise.all([creator.waitForEvent('download'), preview.getByRole('button', { name: /Download the \.eml/ }).click()]);
    const raw = await readFile((await eml.path())!, 'utf8');
    assert.match(raw, /^To: .*<bob@example\.com>/m);
    assert.match(raw, /C2\.txt/);
    const [file] = await Promise.all([creator.waitForEvent('download'), preview.getByRole('button', { name: 'Download C2.txt' }).click()]);
    assert.equal(file.suggestedFilename(), 'C2.txt');
    assert.equal(await readFile((await file.path())!, 'utf8'), 'extra for C2');
    const attachment = await h.api('GET', `/api/v1/campaigns/${campaignId}/recipients/2/attachment?n=0`);
    assert.equal(attachment.headers.get('content-type'), 'application/octet-stream');
    assert.match(attachment.headers.get('content-disposition') ?? '', /^attachment;/);
    assert.equal((await h.api('GET', `/api/v1/campaigns/${campaignId}/recipients/2/attachment?n=1`)).status, 404);
    assert.equal((await h.api('GET', `/api/v1/campaigns/${campaignId}/recipients/2/attachment`)).body.problems[0].path, 'n');
    await preview.getByLabel('Jump to address').fill('ANN@example.com');
    await preview.getByRole('button', { name: 'Go' }).click();
    await preview.locator('dd.to').filter({ hasText: 'ann@example.com' }).waitFor();
    await screenshot(creator, 'review');
  });

  test('a key without campaigns:review sees no approve button and no include buttons', async () => {
    const operator = await reviewPage(keys.operator!, await noticesCampaign('Notices: operator'));
    await operator.getByText('approving or rejecting needs the campaigns:review scope').waitFor();
    assert.equal(await operator.getByRole('button', { name: 'Approve and send' }).count(), 0);
    assert.equal(await operator.getByRole('button', { name: /^Include/ }).count(), 0);
  });

  test('the review page holds still while a slow list and a slow preview arrive: Send test does not move under the pointer', async () => {
    const campaignId = await noticesCampaign('Notices: layout');
    const reviewer = await page(keys.reviewer!);
    // The list and each preview are held at the network until released, as on a slow server.
    const held = { review: gate(), preview: gate() };
    await reviewer.route(
      (url) => /\/review$/.test(url.pathname) || /\/preview$/.test(url.pathname),
      async (route) => {
        await (route.request().url().includes('/review') ? held.review : held.preview).opened;
        await route.continue().catch(() => undefined);
      },
    );
    const sendTest = reviewer.getByRole('button', { name: 'Send test' });
    // Where the button is on the page (not in the viewport), or null while it is not shown.
    const where = () => sendTest.evaluateAll((els) => (els[0] ? Math.round(els[0].getBoundingClientRect().top + els[0].ownerDocument.documentElement.scrollTop) : null));
    const seen: (number | null)[] = [];
    await reviewer.goto(`/#/campaigns/${campaignId}/review`);
    await reviewer.locator('h1').filter({ hasText: 'Notices: layout' }).waitFor();
    seen.push(await where());
    held.review.open();
    await reviewer.locator('table.review-list tbody tr').filter({ hasText: 'cat@example.com' }).waitFor();
    await sendTest.waitFor();
    seen.push(await where());
    await reviewer.locator('#preview').getByText("Loading recipient #1's message").waitFor();
    held.preview.open();
    await reviewer.locator('#preview dd.to').filter({ hasText: 'ann@example.com' }).waitFor();
    seen.push(await where());
    // Another recipient's message loading, then shown, moves nothing either.
    held.preview = gate();
    await reviewer.locator('#preview').getByRole('button', { name: 'Next recipient →' }).click();
    await reviewer.locator('#preview').getByText("Loading recipient #2's message").waitFor();
    seen.push(await where());
    held.preview.open();
    await reviewer.locator('#preview dd.to').filter({ hasText: 'bob@example.com' }).waitFor();
    seen.push(await where());
    const shown = seen.filter((y): y is number => y !== null);
    assert.ok(shown.length >= 4, `Send test was shown at each step after the list: ${JSON.stringify(seen)}`);
    assert.deepEqual(new Set(shown).size, 1, `Send test stayed where it first appeared (page y at each step: ${JSON.stringify(seen)})`);
    await screenshot(reviewer, 'review-settled');
  });

  test('a decision made in another tab after the review was loaded: the approval shows the 409, a reload approves', async () => {
    const campaignId = await noticesCampaign('Notices: four eyes');
    const creator = await reviewPage(keys.creator!, campaignId);
    const reviewer = await reviewPage(keys.reviewer!, campaignId);
    await reviewer.getByRole('button', { name: 'Approve and send' }).waitFor();
    // What an approval sends, before anyone decided on cat: the two ready ones, not the blocked or the undecided one.
    await reviewer.locator('#decide .reach').filter({ hasText: 'Approving sends to 2 of 4 recipients; not to 1 blocked, 1 undecided.' }).waitFor();
    assert.equal(await reviewer.getByRole('button', { name: 'Approve and send to 2', exact: true }).count(), 1);
    await reviewer.locator('.fingerprint').filter({ hasText: /\S{20,}/ }).waitFor();
    // A test send of the previewed recipient's message (shown first, as the reviewer sees it), to a test address only.
    await reviewer.locator('#preview dd.to').filter({ hasText: 'ann@example.com' }).waitFor();
    const exchanges: string[] = [];
    reviewer.on('request', (r) => void (r.url().includes('/test-send') && exchanges.push(`${new Date().toISOString()} ${r.method()} ${r.url()}`)));
    reviewer.on('response', (r) => void (r.url().includes('/test-send') && exchanges.push(`${new Date().toISOString()} ${r.status()}`)));
    reviewer.on('requestfailed', (r) => void (r.url().includes('/test-send') && exchanges.push(`${new Date().toISOString()} failed ${r.failure()?.errorText}`)));
    // Where the page's clicks and submits went, said in the failure (a click that sent nothing has
    // been seen: the form filled, the button idle, no request).
    await reviewer.evaluate(`(() => {
      const seen = (window.__seen = []);
      const name = (t) => (t && t.tagName ? t.tagName.toLowerCase() + (t.id ? '#' + t.id : '') + (t.textContent ? ' "' + t.textContent.trim().slice(0, 30) + '"' : '') : String(t));
      for (const type of ['pointerdown', 'click', 'submit', 'invalid']) document.addEventListener(type, (e) => seen.push(type + ' ' + name(e.target)), true);
    })()`);
    await reviewer.getByLabel(/message only to/).fill('qa@example.com');
    await reviewer.getByRole('button', { name: 'Send test' }).click();
    // The answer, or the error the page shows instead (said in the failure, so a refusal is not a bare timeout).
    const sent = reviewer.getByRole('status').filter({ hasText: 'Sent to qa@example.com: 250' });
    const refused = reviewer.locator('#test-send [role=alert]');
    await sent.or(refused).first().waitFor({ timeout: 90_000 }).catch(async (err: Error) => {
      const form = await reviewer.locator('#test-send').innerText().catch((e: Error) => `(no form: ${e.message})`);
      const to = await reviewer.getByLabel(/message only to/).inputValue().catch(() => '(none)');
      await screenshot(reviewer, 'test-send-timeout');
      const events = await reviewer.evaluate('JSON.stringify(window.__seen)').catch((e: Error) => e.message);
      throw new Error(`${err.message}\nthe form: ${JSON.stringify(form)}, its address: ${JSON.stringify(to)}\nrequests: ${JSON.stringify(exchanges)}\npage events: ${String(events)}`);
    });
    assert.equal(await refused.count(), 0, `the test send was refused: ${await refused.allTextContents()}`);
    const tests = h.sink.messages.filter((m) => m.to.includes('qa@example.com'));
    assert.equal(tests.length, 1);
    assert.deepEqual(tests[0]!.to, ['qa@example.com']);

    // The creator includes the needs_review recipient, then tries to approve: four eyes refuses.
    await creator.getByRole('button', { name: 'Include cat@example.com' }).click();
    await creator.locator('table.review-list tbody tr').filter({ hasText: 'cat@example.com' }).locator('.d-included').waitFor();
    await creator.getByRole('button', { name: 'Reload the review' }).click();
    await creator.getByRole('button', { name: 'Approve and send' }).click();
    await creator.locator('#decide [role=alert]').filter({ hasText: 'Refused by the four-eyes rule' }).waitFor();
    await creator.locator('#decide [role=alert]').filter({ hasText: 'Another person' }).waitFor();
    await screenshot(creator, 'four-eyes');
    assert.equal(await status(campaignId), 'awaiting_review');

    // The reviewer's page was loaded before that decision.
    await reviewer.getByLabel('Note').fill('checked the notices');
    await reviewer.getByRole('button', { name: 'Approve and send' }).click();
    await reviewer.locator('#decide [role=alert]').filter({ hasText: 'changed since this review was loaded' }).waitFor();
    await reviewer.locator('#decide [role=alert]').filter({ hasText: 'current status: awaiting_review' }).waitFor();
    await screenshot(reviewer, 'fingerprint-409');
    assert.equal(await status(campaignId), 'awaiting_review');
    await reviewer.getByRole('button', { name: 'Reload the review' }).click();
    await reviewer.locator('table.review-list tbody tr').filter({ hasText: 'cat@example.com' }).locator('.d-included').waitFor();
    // Cat included: three of four, the blocked address alone left out.
    await reviewer.locator('#decide .reach').filter({ hasText: 'Approving sends to 3 of 4 recipients; not to 1 blocked.' }).waitFor();
    await reviewer.getByRole('button', { name: 'Approve and send to 3', exact: true }).click();
    await eventually(async () => (await status(campaignId)) !== 'awaiting_review', 30_000, 'the approval');
  });

  test('progress reaches 100%, the messages are at the sink, and report.csv downloads', async () => {
    const campaignId = await noticesCampaign('Notices: progress');
    // cat needs a decision (its optional attachment is missing): the creator includes it, another person approves.
    const cat = (await h.api('GET', `/api/v1/campaigns/${campaignId}/recipients`, undefined, bearer(keys.creator!))).body.items.find(
      (r: { email: string }) => r.email === 'cat@example.com',
    );
    const include = await h.api('POST', `/api/v1/campaigns/${campaignId}/recipients/${cat.id}/decision`, { include: true }, bearer(keys.creator!));
    assert.equal(include.status, 200, JSON.stringify(include.body));
    const approval = await h.api('POST', `/api/v1/campaigns/${campaignId}/approve`, { note: 'checked the notices' }, bearer(keys.reviewer!));
    assert.equal(approval.status, 200, JSON.stringify(approval.body));
    const reviewer = await page(keys.reviewer!);
    await reviewer.goto(`/#/campaigns/${campaignId}`);
    await reviewer.locator('h1 .badge').filter({ hasText: 'completed' }).waitFor({ timeout: 90_000 });
    await reviewer.locator('.summary').filter({ hasText: '100%' }).waitFor();
    await reviewer.locator('.summary').filter({ hasText: '3 sent' }).waitFor();
    // "4 of 4 done" adds up: the blocked address was skipped, and the summary says so.
    await reviewer.locator('.summary').filter({ hasText: '4 of 4 done · 3 sent · 0 failed · 1 skipped ·' }).waitFor();
    await reviewer.locator('.chart-summary').filter({ hasText: '3 sent in the last 30 minutes' }).waitFor({ timeout: 15_000 });
    const to = messagesFor(h, campaignId).flatMap((m) => m.to).sort();
    assert.deepEqual(to, ['ann@example.com', 'bob@example.com', 'cat@example.com']);
    await reviewer.locator('#recipients table tbody tr').filter({ hasText: 'bob@example.com' }).filter({ hasText: /250/ }).waitFor();
    // On a phone the SMTP reply and the sending time are still there, under the send status.
    await reviewer.setViewportSize({ width: 390, height: 844 });
    const bobSend = reviewer.locator('#recipients table tbody tr').filter({ hasText: 'bob@example.com' }).locator('.phone-only');
    await bobSend.locator('.smtp').filter({ hasText: /^250/ }).waitFor();
    await bobSend.filter({ hasText: /sent \S/ }).waitFor();
    await screenshotOf(reviewer.locator('#recipients'), 'recipients-sent-390');
    await reviewer.setViewportSize({ width: 1366, height: 900 });
    await screenshotOf(reviewer.locator('#recipients'), 'recipients-sent-1366');
    await reviewer.locator('#audit table tbody tr').filter({ hasText: 'campaign.approve' }).filter({ hasText: 'key:reviewer' }).waitFor();
    // Its details read as words, not as JSON.
    const approvalDetails = reviewer.locator('#audit table tbody tr').filter({ hasText: 'campaign.approve' }).locator('td.details');
    await approvalDetails.filter({ hasText: 'status: sending' }).waitFor();
    assert.doesNotMatch((await approvalDetails.textContent()) ?? '', /[{"]/);
    const [csv] = await Promise.all([reviewer.waitForEvent('download'), reviewer.getByRole('button', { name: 'Download report.csv' }).click()]);
    const rows = parse(await readFile((await csv.path())!), { columns: true }) as Record<string, string>[];
    assert.equal(rows.length, 4);
    assert.deepEqual(rows.filter((r) => r.send_status === 'sent').map((r) => r.email).sort(), ['ann@example.com', 'bob@example.com', 'cat@example.com']);
    await screenshot(reviewer, 'campaign-completed');
    await reviewer.goto('/#/campaigns');
    const row = reviewer.locator('tr.campaign-row').filter({ hasText: 'Notices: progress' });
    await row.filter({ hasText: '100%' }).waitFor();
    // The list says it as the campaign's page does: the skipped address is named, so the numbers add up.
    await row.locator('.outcome').filter({ hasText: /^4 of 4 done · 3 sent · 0 failed · 1 skipped$/ }).waitFor();
    await screenshot(reviewer, 'campaign-list');
  });

  test('at a phone\'s width (390 px) no page is wider than the screen: the form stacks, wide tables scroll inside themselves', async () => {
    const campaignId = await noticesCampaign('Notices: phone');
    const creator = await page(keys.creator!);
    await creator.setViewportSize({ width: 390, height: 844 });
    const widths: Record<string, number> = {};
    const measure = async (name: string) => {
      widths[name] = await creator.evaluate<number>('document.documentElement.scrollWidth - document.documentElement.clientWidth');
    };
    await creator.goto('/#/campaigns');
    await creator.locator('tr.campaign-row').filter({ hasText: 'Notices: phone' }).waitFor();
    await measure('list');
    // The campaign list fits the screen without scrolling inside itself: name, status and progress,
    // the Sent copies and the creation time folded under the progress.
    const list = creator.locator('table', { has: creator.locator('tr.campaign-row') });
    const listHeaders = () => list.locator('thead th').evaluateAll((ths) => ths.filter((th) => th.getBoundingClientRect().width > 0).map((th) => th.textContent));
    assert.equal(await list.evaluate((t) => t.scrollWidth - t.clientWidth), 0, 'the campaign list scrolls inside itself at 390 px');
    assert.deepEqual(await listHeaders(), ['Name', 'Status', 'Progress']);
    const folded = list.locator('tr.campaign-row').filter({ hasText: 'Notices: phone' }).locator('.phone-only');
    await folded.filter({ hasText: /^0 Sent copies · created \S/ }).waitFor();
    const foldedBox = await folded.boundingBox();
    assert.ok(foldedBox && foldedBox.x >= 0 && foldedBox.x + foldedBox.width <= 390, `the folded line is on the screen: ${JSON.stringify(foldedBox)}`);
    await screenshotOf(list, 'campaign-list-390');
    await creator.setViewportSize({ width: 1366, height: 900 });
    assert.deepEqual(await listHeaders(), ['Name', 'Status', 'Progress', 'Sent copies', 'Created']);
    assert.equal(await list.locator('.phone-only').evaluateAll((els) => els.filter((e) => e.getBoundingClientRect().height > 0).length), 0);
    await creator.setViewportSize({ width: 390, height: 844 });
    await creator.goto(`/#/campaigns/${campaignId}`);
    await creator.locator('#recipients table tbody tr').filter({ hasText: 'not-an-address' }).waitFor();
    await measure('campaign');
    // The recipients table fits the screen without scrolling inside itself: four columns, the name
    // folded under the address and the rest (copy, sent, answer, SMTP reply) under the send status.
    const table = creator.locator('#recipients table');
    const shownHeaders = () => table.locator('thead th').evaluateAll((ths) => ths.filter((th) => th.getBoundingClientRect().width > 0).map((th) => th.textContent));
    assert.equal(await table.evaluate((t) => t.scrollWidth - t.clientWidth), 0, 'the recipients table scrolls inside itself at 390 px');
    assert.deepEqual(await shownHeaders(), ['#', 'Address', 'Build', 'Send']);
    assert.equal(await table.locator('tbody tr').filter({ hasText: 'ann@example.com' }).locator('.address').getByText('Ann', { exact: true }).isVisible(), true);
    await screenshotOf(creator.locator('#recipients'), 'recipients-390');
    // On a wide screen every column is there, and nothing is said twice.
    await creator.setViewportSize({ width: 1366, height: 900 });
    assert.deepEqual(await shownHeaders(), ['#', 'Address', 'Name', 'Build', 'Send', 'Copy', 'SMTP reply / error', 'Sent', 'Answer']);
    assert.equal(await table.locator('.phone-only').evaluateAll((els) => els.filter((e) => e.getBoundingClientRect().height > 0).length), 0);
    await screenshotOf(creator.locator('#recipients'), 'recipients-1366');
    await creator.setViewportSize({ width: 390, height: 844 });
    await creator.goto(`/#/campaigns/${campaignId}/review`);
    await creator.locator('#preview dd.to').filter({ hasText: 'ann@example.com' }).waitFor();
    await measure('review');
    // The review's list fits as well: name, status and reasons fold under the address, the buttons
    // stay on the screen, and every build count is on it (undecided last).
    const reviewList = creator.locator('table.review-list');
    assert.equal(await reviewList.evaluate((t) => t.scrollWidth - t.clientWidth), 0, 'the review list scrolls inside itself at 390 px');
    await reviewList.locator('tbody tr').filter({ hasText: 'not-an-address' }).locator('.address .reasons').filter({ hasText: 'invalid-address' }).waitFor();
    const cat = reviewList.locator('tbody tr').filter({ hasText: 'cat@example.com' });
    const offScreen: string[] = [];
    for (const [name, part] of [
      ['Include', cat.getByRole('button', { name: 'Include cat@example.com' })],
      ['Preview', cat.getByRole('button', { name: 'Preview' })],
      ['undecided', creator.locator('.build-counts td').filter({ hasText: 'undecided' })],
    ] as const) {
      const box = await part.boundingBox();
      if (!box || box.x < 0 || box.x + box.width > 390) offScreen.push(`${name} at ${JSON.stringify(box)}`);
    }
    assert.deepEqual(offScreen, [], 'on the screen at 390 px');
    await screenshotOf(reviewList, 'review-list-390');
    await creator.goto('/#/campaigns/new');
    await creator.locator('input[name=csv]').setInputFiles({ name: 'notices.csv', mimeType: 'text/csv', buffer: Buffer.from(CSV) });
    await creator.getByLabel('Subject').fill('Notice for {{ name }}');
    await creator.locator('.preview-subject').filter({ hasText: 'Notice for Ann' }).waitFor();
    await measure('new campaign');
    await screenshot(creator, 'new-campaign-phone');
    assert.deepEqual(widths, { list: 0, campaign: 0, review: 0, 'new campaign': 0 }, 'how far each page reaches beyond the screen, in px');
  });

  test('a campaign cancelled through the API while its review and its page are open: each refusal says so, with the status as it is now, at once and for good', async () => {
    const campaignId = await noticesCampaign('Notices: cancelled elsewhere');
    const reviewer = await stillPage(keys.reviewer!, `/#/campaigns/${campaignId}/review`, '#decide');
    const operator = await stillPage(keys.creator!, `/#/campaigns/${campaignId}`, '#recipients tbody tr');
    await operator.getByRole('button', { name: 'Cancel campaign' }).click();
    const cancel = await h.api('POST', `/api/v1/campaigns/${campaignId}/cancel`, {}, bearer(keys.creator!));
    assert.equal(cancel.status, 200, JSON.stringify(cancel.body));

    await reviewer.getByRole('button', { name: /^Approve and send/ }).click();
    await reviewer.getByRole('alert').filter({ hasText: /^This approval was not applied: the campaign is no longer awaiting review; it is cancelled now\.$/ }).waitFor();
    await reviewer.locator('h1 .badge').filter({ hasText: 'cancelled' }).waitFor();
    assert.equal(await reviewer.getByRole('button', { name: /^Approve and send/ }).count(), 0, 'nothing to approve is offered');
    assert.equal(await reviewer.getByRole('button', { name: 'Send test' }).count(), 0, 'no test send is offered once the review is closed (the API would refuse it)');
    await screenshot(reviewer, 'review-cancelled-elsewhere');

    await operator.getByRole('button', { name: 'Yes, cancel campaign' }).click();
    await operator.getByRole('alert').filter({ hasText: /Conflict: .*current status: cancelled/ }).waitFor();
    await operator.locator('h1 .badge').filter({ hasText: 'cancelled' }).waitFor();

    // Polls later the refusal is still said, and still true.
    await reviewer.clock.resume();
    await reviewer.waitForTimeout(4000);
    assert.equal(await reviewer.getByRole('alert').filter({ hasText: 'it is cancelled now' }).isVisible(), true, 'the refusal stays on screen');
    assert.equal(await reviewer.locator('h1 .badge').textContent(), 'cancelled');
    assert.equal(await status(campaignId), 'cancelled');
    assert.deepEqual(messagesFor(h, campaignId), []);
  });

  test('a campaign approved by another person while the review is open: a second approval says who decided, and the status now', async () => {
    const campaignId = await noticesCampaign('Notices: approved elsewhere');
    const other = await createKey(h, { name: 'second-reviewer', scopes: ALL });
    const reviewer = await stillPage(keys.reviewer!, `/#/campaigns/${campaignId}/review`, '#decide');
    const approval = await h.api('POST', `/api/v1/campaigns/${campaignId}/approve`, {}, bearer(other.key));
    assert.equal(approval.status, 200, JSON.stringify(approval.body));
    await reviewer.getByRole('button', { name: /^Approve and send/ }).click();
    const refusal = reviewer.getByRole('alert').filter({ hasText: /^This approval was not applied: the campaign is no longer awaiting review; it is (sending|completed) now, decided by key:second-reviewer \S/ });
    await refusal.waitFor();
    const shown = (await reviewer.locator('h1 .badge').textContent()) ?? '';
    assert.ok((await refusal.textContent())?.includes(`it is ${shown} now`), 'the refusal and the badge say the same status');
  });

  test('jump to an address: the search shows it is under way and takes no second press; an address not in the list is said so', async () => {
    const campaignId = await noticesCampaign('Notices: jump');
    const reviewer = await reviewPage(keys.reviewer!, campaignId);
    const preview = reviewer.locator('#preview');
    await preview.locator('dd.to').filter({ hasText: 'ann@example.com' }).waitFor();
    const held = gate();
    await reviewer.route(/\/recipients\?.*limit=500/, async (route) => {
      await held.opened;
      await route.continue().catch(() => undefined);
    });
    await preview.getByLabel('Jump to address').fill('cat@example.com');
    await preview.getByRole('button', { name: 'Go' }).click();
    await preview.getByRole('status').filter({ hasText: 'Looking… 0 recipients read' }).waitFor();
    assert.equal(await preview.getByRole('button', { name: 'Go' }).isDisabled(), true, 'no second search while one runs');
    held.open();
    await preview.locator('dd.to').filter({ hasText: 'cat@example.com' }).waitFor();
    assert.equal(await preview.getByRole('button', { name: 'Go' }).isEnabled(), true);
    assert.equal(((await preview.getByRole('status').textContent()) ?? '').trim(), '');
    await preview.getByLabel('Jump to address').fill('nobody@example.com');
    await preview.getByRole('button', { name: 'Go' }).click();
    await preview.getByRole('alert').filter({ hasText: /^No recipient with the address nobody@example\.com in this campaign\.$/ }).waitFor();
  });

  test('a slow answer to an earlier poll never replaces a newer one: the list filtered by status shows only that status', async () => {
    await noticesCampaign('Notices: filtered');
    const reviewer = await page(keys.reviewer!);
    await reviewer.goto('/#/campaigns');
    await reviewer.locator('tr.campaign-row').filter({ hasText: 'Notices: filtered' }).waitFor();
    // The next unfiltered poll is held at the network, as on a loaded server, while the person picks a status.
    const held = gate();
    let heldOne!: () => void;
    const polled = new Promise<void>((resolve) => (heldOne = resolve));
    let holding = true;
    await reviewer.route(
      (url) => url.pathname === '/api/v1/campaigns' && !url.searchParams.has('status'),
      async (route) => {
        if (holding) {
          holding = false;
          heldOne();
          await held.opened;
        }
        await route.continue().catch(() => undefined);
      },
    );
    await polled;
    // The filter offers "all" and every status the API has (its own list, src/contract/statuses.ts).
    const offered = await reviewer.getByLabel('Status').locator('option').allTextContents();
    assert.equal(offered[0], 'all');
    assert.deepEqual(offered.slice(1).sort(), CAMPAIGN_STATUSES.map((s) => s.replace(/_/g, ' ')).sort());
    await reviewer.getByLabel('Status').selectOption('completed');
    const rows = reviewer.locator('tr.campaign-row');
    await eventually(async () => (await rows.filter({ hasText: 'Notices: filtered' }).count()) === 0, 10_000, 'the filtered list');
    const answered = reviewer.waitForResponse((r) => new URL(r.url()).pathname === '/api/v1/campaigns' && !new URL(r.url()).searchParams.has('status'));
    held.open();
    await answered;
    await reviewer.waitForTimeout(500);
    assert.deepEqual(
      (await rows.locator('.badge').allTextContents()).filter((s) => s !== 'completed'),
      [],
      'the list filtered by "completed" shows no campaign of another status',
    );
    assert.equal(await rows.filter({ hasText: 'Notices: filtered' }).count(), 0);
  });

  test('keyboard only: a confirmation answered No or Escape gives the focus back to its button; Enter, Enter cancels', async () => {
    const campaignId = await noticesCampaign('Notices: keyboard');
    const creator = await page(keys.creator!);
    await creator.goto(`/#/campaigns/${campaignId}`);
    const cancel = creator.getByRole('button', { name: 'Cancel campaign' });
    const yes = creator.getByRole('button', { name: 'Yes, cancel campaign' });
    const focused = () => creator.evaluate<string>("document.activeElement?.textContent ?? ''");
    await cancel.focus();
    await creator.keyboard.press('Enter');
    await yes.waitFor();
    assert.equal(await focused(), 'Yes, cancel campaign', 'the question takes the focus');
    await creator.keyboard.press('Tab');
    assert.equal(await focused(), 'No');
    await creator.keyboard.press('Enter');
    await cancel.waitFor();
    assert.equal(await focused(), 'Cancel campaign', 'No gives the focus back to the button');
    await creator.keyboard.press('Enter');
    await yes.waitFor();
    await creator.keyboard.press('Escape');
    await cancel.waitFor();
    assert.equal(await focused(), 'Cancel campaign', 'Escape answers No');
    assert.equal(await status(campaignId), 'awaiting_review');
    await creator.keyboard.press('Enter');
    await yes.waitFor();
    await creator.keyboard.press('Enter');
    await creator.locator('h1 .badge').filter({ hasText: 'cancelled' }).waitFor();
    assert.equal(await status(campaignId), 'cancelled');
  });

  /** A campaign by the creator with a pilot batch, approved by the reviewer, once it is at pilot_sent. */
  async function atPilotSent(name: string, o: { pilot: number; recipients: number; prefix: string }): Promise<string> {
    const res = await h.api(
      'POST',
      '/api/v1/campaigns',
      {
        name,
        from: 'Acme <billing@acme.test>',
        subject: 'Hello {{ name }}',
        text: 'Hi {{ name }}',
        pilot: { size: o.pilot },
        recipients: Array.from({ length: o.recipients }, (_, i) => ({ email: `${o.prefix}${i}@example.com`, name: `${o.prefix.toUpperCase()}${i}` })),
      },
      bearer(keys.creator!),
    );
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const id = res.body.id as string;
    await eventually(async () => (await status(id)) === 'awaiting_review', 60_000, 'review');
    assert.equal((await h.api('POST', `/api/v1/campaigns/${id}/approve`, {}, bearer(keys.reviewer!))).status, 200);
    await eventually(async () => (await status(id)) === 'pilot_sent', 60_000, 'the pilot');
    return id;
  }

  test('a pilot at pilot_sent: its results, a Continue the four-eyes rule refuses to the creator in words that fit it, and another person\'s Continue sends the rest', async () => {
    const id = await atPilotSent('Pilot run', { pilot: 2, recipients: 5, prefix: 'p' });
    const creator = await page(keys.creator!);
    await creator.goto(`/#/campaigns/${id}`);
    await creator.locator('h1 .badge').filter({ hasText: 'pilot sent' }).waitFor();
    await creator.getByLabel('pilot results').filter({ hasText: '2 in the pilot · 2 sent · 0 failed · 0 bounced · 0 still to go' }).waitFor();
    await creator.getByRole('button', { name: 'Continue', exact: true }).click();
    await creator.getByRole('button', { name: 'Yes, continue' }).click();
    const refusal = creator.getByRole('alert').filter({ hasText: 'Refused by the four-eyes rule: this campaign must be continued after its pilot by someone other than its creator' });
    await refusal.waitFor();
    assert.match((await refusal.textContent()) ?? '', /Another person's key must make this decision; you may still reject it\.$/);
    // The button keeps its size under the sentence (it once stretched across the page).
    const continueBox = await creator.getByRole('button', { name: 'Continue', exact: true }).boundingBox();
    assert.ok(continueBox && continueBox.width < 200, `Continue is ${continueBox?.width} px wide under the refusal`);
    await screenshot(creator, 'pilot-continue-refused');
    assert.equal(await status(id), 'pilot_sent');
    const reviewer = await page(keys.reviewer!);
    await reviewer.goto(`/#/campaigns/${id}`);
    await reviewer.getByRole('button', { name: 'Continue', exact: true }).click();
    await reviewer.getByRole('button', { name: 'Yes, continue' }).click();
    await reviewer.locator('h1 .badge').filter({ hasText: 'completed' }).waitFor({ timeout: 60_000 });
    assert.equal(messagesFor(h, id).length, 5);
  });

  test('a campaign paused with pilot_sent beneath the pause: the page offers Continue and Reject after pilot beside Resume and Cancel, as the workflow takes them', async () => {
    const id = await atPilotSent('Pilot paused', { pilot: 1, recipients: 3, prefix: 'pp' });
    // The record as the workflow writes it when a pause lands while the pilot batch goes out (a
    // race a test cannot time): paused, pilot_sent beneath. Nothing is clicked through to the workflow.
    await h.sql`UPDATE campaigns SET status = 'paused', paused_in = 'pilot_sent' WHERE id = ${id}`;
    const reviewer = await page(keys.reviewer!);
    await reviewer.goto(`/#/campaigns/${id}`);
    await reviewer.locator('h1 .badge').filter({ hasText: 'paused' }).waitFor();
    for (const name of ['Resume', 'Continue', 'Reject after pilot', 'Cancel campaign']) {
      await reviewer.getByRole('button', { name, exact: true }).waitFor();
    }
    assert.equal(await reviewer.getByRole('button', { name: 'Pause', exact: true }).count(), 0);
    await reviewer.getByRole('button', { name: 'Continue', exact: true }).click();
    await reviewer.getByText('Send the rest of the list? It stays paused: the rest goes once it is resumed.').waitFor();
  });

  test('a review opened while the list is still being built says so, and shows the list once the build is done', async () => {
    const reviewer = await page(keys.reviewer!);
    let campaignId = '';
    // The recipients table is locked against writes: the build reads its list and waits to write it.
    await h.sql.begin(async (tx) => {
      await tx`LOCK TABLE recipients IN EXCLUSIVE MODE`;
      const res = await h.api(
        'POST',
        '/api/v1/campaigns',
        { name: 'Notices: still building', from: 'Acme Billing <billing@acme.test>', subject: 'Notice for {{ name }}', text: 'Dear {{ name }}', html: noticesHtml(), attachments: [{ bucket: h.bucket, key: 'extras/{{ customerId }}.txt', required: false }], recipientsCsv: CSV },
        bearer(keys.creator!),
      );
      assert.equal(res.status, 201, JSON.stringify(res.body));
      campaignId = res.body.id as string;
      await reviewer.goto(`/#/campaigns/${campaignId}/review`);
      await reviewer.getByRole('status').filter({ hasText: 'The list is still being built' }).waitFor();
      await reviewer.locator('h1 .badge').filter({ hasText: 'building' }).waitFor();
      assert.equal(await reviewer.locator('.build-counts').count(), 0, 'no counts of a list not yet built');
    });
    // The lock is gone: the build ends, and the page shows the list it built, and what an approval sends.
    await reviewer.locator('h1 .badge').filter({ hasText: 'awaiting review' }).waitFor({ timeout: 60_000 });
    await reviewer.locator('.build-counts').filter({ hasText: '2 ready' }).filter({ hasText: '1 needs review' }).filter({ hasText: '1 blocked' }).waitFor();
    await reviewer.locator('table.review-list tbody tr').filter({ hasText: 'cat@example.com' }).waitFor();
    await reviewer.locator('#decide .reach').filter({ hasText: 'Approving sends to 2 of 4 recipients; not to 1 blocked, 1 undecided.' }).waitFor();
    assert.equal(await reviewer.getByRole('status').filter({ hasText: 'still being built' }).count(), 0);
  });

  test('a decision on a recipient is shown under way: its buttons wait for the answer', async () => {
    const campaignId = await noticesCampaign('Notices: deciding');
    const reviewer = await reviewPage(keys.reviewer!, campaignId);
    const held = gate();
    await reviewer.route(/\/recipients\/\d+\/decision$/, async (route) => {
      await held.opened;
      await route.continue();
    });
    const row = reviewer.locator('table.review-list tbody tr').filter({ hasText: 'cat@example.com' });
    await row.getByRole('button', { name: 'Include cat@example.com' }).click();
    await row.getByRole('button', { name: 'Include cat@example.com' }).and(reviewer.locator(':disabled')).waitFor();
    assert.equal(await row.getByRole('button', { name: 'Exclude cat@example.com' }).isDisabled(), true);
    held.open();
    await row.locator('.d-included').waitFor();
    assert.equal(await row.getByRole('button', { name: 'Exclude cat@example.com' }).isEnabled(), true);
  });

  test('pause and resume a throttled campaign from its page, with a confirmation; cancel ends it', async () => {
    const res = await h.api(
      'POST',
      '/api/v1/campaigns',
      {
        name: 'Throttled run',
        from: 'Acme <billing@acme.test>',
        subject: 'Hello {{ name }}',
        text: 'Hi {{ name }}',
        throttle: { messagesPerMinute: 6 },
        recipients: Array.from({ length: 6 }, (_, i) => ({ email: `t${i}@example.com`, name: `T${i}` })),
      },
      bearer(keys.creator!),
    );
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const id = res.body.id as string;
    await eventually(async () => (await status(id)) === 'awaiting_review', 60_000, 'review');
    assert.equal((await h.api('POST', `/api/v1/campaigns/${id}/approve`, {}, bearer(keys.reviewer!))).status, 200);
    const reviewer = await page(keys.reviewer!);
    // Each action carries an Idempotency-Key of its own (a repeat after a 503 would reuse it).
    const actionKeys: string[] = [];
    reviewer.on('request', (r) => {
      if (r.method() === 'POST' && /\/campaigns\/[^/]+\/(pause|resume)$/.test(r.url())) actionKeys.push(r.headers()['idempotency-key'] ?? '');
    });
    await reviewer.goto(`/#/campaigns/${id}`);
    await reviewer.locator('h1 .badge').filter({ hasText: 'sending' }).waitFor({ timeout: 30_000 });
    await reviewer.locator('.chart-summary').filter({ hasText: 'limit 6/min (throttle)' }).waitFor();
    await reviewer.getByRole('button', { name: 'Pause' }).click();
    await reviewer.getByRole('button', { name: 'Yes, pause' }).click();
    await reviewer.locator('h1 .badge').filter({ hasText: 'paused' }).waitFor();
    assert.equal(await status(id), 'paused');
    await screenshot(reviewer, 'campaign-paused');
    await reviewer.getByRole('button', { name: 'Resume' }).click();
    await reviewer.getByRole('button', { name: 'Yes, resume' }).click();
    await reviewer.locator('h1 .badge').filter({ hasText: 'sending' }).waitFor();
    assert.equal(await status(id), 'sending');
    assert.equal(actionKeys.length, 2, 'one pause and one resume sent');
    for (const k of actionKeys) assert.match(k, /^[0-9a-f]{32}$/);
    assert.notEqual(actionKeys[0], actionKeys[1]);
    // A cancel confirmed on a page opened before another person cancelled: the 409 in words, where it was clicked.
    const stale = await page(keys.operator!);
    await stale.goto(`/#/campaigns/${id}`);
    await stale.getByRole('button', { name: 'Cancel campaign' }).click();
    await reviewer.getByRole('button', { name: 'Cancel campaign' }).click();
    await reviewer.getByRole('button', { name: 'Yes, cancel campaign' }).click();
    await reviewer.locator('h1 .badge').filter({ hasText: 'cancelled' }).waitFor({ timeout: 30_000 });
    await stale.getByRole('button', { name: 'Yes, cancel campaign' }).click();
    await stale.locator('[role=alert]').filter({ hasText: /Conflict: .*current status: cancelled/ }).waitFor();
    assert.ok(messagesFor(h, id).length < 6, 'the cancel stopped the throttled run');
  });

  test('admin pages: a key is shown once, then revoked', async () => {
    const reviewer = await page(keys.reviewer!);
    await reviewer.goto('/#/admin/keys');
    await reviewer.locator('form.editor').getByLabel('Name').fill(`made-in-console`);
    await reviewer.getByRole('button', { name: 'Create key' }).click();
    const shown = await reviewer.getByLabel('new API key').inputValue();
    assert.match(shown, /^cm_/);
    assert.equal((await h.api('GET', '/api/v1/me', undefined, bearer(shown))).status, 200);
    await reviewer.getByRole('button', { name: 'Done, I copied it' }).click();
    assert.equal(await reviewer.getByLabel('new API key').count(), 0);
    const row = reviewer.locator('table.list tbody tr').filter({ hasText: 'made-in-console' });
    await row.getByRole('button', { name: 'Revoke' }).click();
    await row.getByRole('button', { name: 'Yes, revoke' }).click();
    await eventually(async () => (await h.api('GET', '/api/v1/me', undefined, bearer(shown))).status === 401, 10_000, 'the revocation');
    await reviewer.goto('/#/admin/audit');
    await reviewer.locator('#audit table tbody tr').filter({ hasText: 'key.revoke' }).waitFor();
    await screenshot(reviewer, 'admin-audit');
  });

  test('admin pages: an account is created, verified against the SMTP server, and its password stays write-only', async () => {
    const reviewer = await page(keys.reviewer!);
    await reviewer.goto('/#/admin/accounts');
    await reviewer.getByRole('button', { name: 'New account' }).click();
    const form = reviewer.locator('form.editor');
    await form.getByLabel('Name').fill('sink');
    await form.locator('fieldset').first().getByLabel('Host').fill('127.0.0.1');
    await form.locator('fieldset').first().getByLabel('Port').fill(String(h.sink.port));
    await form.locator('fieldset').first().getByLabel('Security').selectOption('plain');
    await form.getByLabel('Messages per minute').fill('30');
    await form.getByRole('button', { name: 'Save' }).click();
    const row = reviewer.locator('table.list tbody tr').filter({ hasText: 'sink' });
    await row.filter({ hasText: '30/min' }).waitFor();
    await row.getByRole('button', { name: 'Verify' }).click();
    await row.locator('.verify').filter({ hasText: 'SMTP OK' }).waitFor();
    await row.getByRole('button', { name: 'Edit' }).click();
    await form.locator('fieldset').first().getByLabel('User').fill('mailer');
    await form.locator('fieldset').first().getByLabel('Password (write-only)').fill('s3cret-password');
    await form.getByRole('button', { name: 'Save' }).click();
    await row.filter({ hasText: '(password set)' }).waitFor();
    await row.getByRole('button', { name: 'Edit' }).click();
    assert.equal(await form.locator('fieldset').first().getByLabel('Password (write-only)').inputValue(), '');
    const stored = await h.api('GET', '/api/v1/accounts/sink');
    assert.equal(stored.body.smtp.passwordSet, true);
    assert.ok(!JSON.stringify(stored.body).includes('s3cret-password'));
    await screenshot(reviewer, 'admin-accounts');
  });
});
