import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DEFAULT_TEMPLATE_LIMITS, Templates } from '../src/mail/templates.js';
import { createCampaign, waitForStatus } from './helpers/campaigns.js';
import { startExtraApi } from './helpers/app.js';
import { startHarness, type Harness } from './helpers/harness.js';

// Issue 11.8: templates are tenant text rendered in the API (previews) and the worker (build,
// send). A nested loop or a doubling append ends in a refusal: the recipient is
// `blocked: template-limit`, its preview is a 4xx, and the API keeps answering meanwhile.

let h: Harness;
before(async () => {
  h = await startHarness({ imap: false });
});
after(async () => {
  await h?.close();
});

const LOOPS = '{% if hostile %}{% for i in (1..100000) %}{% for j in (1..100000) %}x{% endfor %}{% endfor %}{% endif %}';
const DOUBLING = '{% if bomb %}{% assign s = "0123456789" %}{% for i in (1..34) %}{% assign s = s | append: s %}{% endfor %}{{ s | size }}{% endif %}';

const body = () => ({
  name: 'Hostile templates',
  from: 'Acme <billing@acme.test>',
  subject: 'Hello {{ name }}',
  text: `Dear {{ name }},${LOOPS}${DOUBLING}`,
  recipients: [
    { email: 'ann@example.com', name: 'Ann', vars: { hostile: false, bomb: false } },
    { email: 'loop@example.com', name: 'Loop', vars: { hostile: true, bomb: false } },
    { email: 'bomb@example.com', name: 'Bomb', vars: { hostile: false, bomb: true } },
  ],
});

describe('template limits', () => {
  test('recipients over the render or memory limit are blocked: template-limit; the others build', async () => {
    const started = Date.now();
    const id = await createCampaign(h, body());
    await waitForStatus(h, id, 'awaiting_review', 60_000);
    const rows = await h.sql<{ email: string; buildStatus: string; buildReasons: string[] }[]>`
      SELECT email, build_status, build_reasons FROM recipients WHERE campaign_id = ${id} ORDER BY id`;
    const by = new Map(rows.map((r) => [r.email, r]));
    assert.equal(by.get('ann@example.com')?.buildStatus, 'ready');
    assert.equal(by.get('loop@example.com')?.buildStatus, 'blocked');
    assert.match(by.get('loop@example.com')!.buildReasons[0]!, /^template-limit: template render limit exceeded/);
    assert.equal(by.get('bomb@example.com')?.buildStatus, 'blocked');
    assert.match(by.get('bomb@example.com')!.buildReasons[0]!, /^template-limit: template memory limit exceeded/);
    assert.ok(Date.now() - started < 30_000, 'the build was not held up by the loops');
  });

  test('a hostile preview is a 422 while /healthz keeps answering within 100 ms', async () => {
    // The API's event loop is held at most PREVIEW_RENDER_MS per preview (default 50 ms). On this
    // shared 2-core test machine (load average near 10) scheduling alone adds tens of ms, so the
    // 100 ms bound is checked with a 25 ms budget: what an operator sets for that guarantee there.
    const api = await startExtraApi(h, { limits: { previewRenderMs: 25 } });
    try {
      const id = await createCampaign(h, body());
      await waitForStatus(h, id, 'awaiting_review', 60_000);
      const [loop] = await h.sql<{ id: number }[]>`SELECT id FROM recipients WHERE campaign_id = ${id} AND email = 'loop@example.com'`;
      const [bomb] = await h.sql<{ id: number }[]>`SELECT id FROM recipients WHERE campaign_id = ${id} AND email = 'bomb@example.com'`;
      const [ann] = await h.sql<{ id: number }[]>`SELECT id FROM recipients WHERE campaign_id = ${id} AND email = 'ann@example.com'`;

      let previewing = true;
      const latencies: number[] = [];
      const poller = (async () => {
        while (previewing) {
          const t = performance.now();
          const res = await fetch(`${api.baseUrl}/healthz`);
          await res.text();
          assert.equal(res.status, 200);
          latencies.push(performance.now() - t);
          await new Promise((r) => setTimeout(r, 2));
        }
      })();
      const previews = [];
      for (let i = 0; i < 6; i++) {
        const rid = i % 2 ? bomb!.id : loop!.id;
        const t = performance.now();
        previews.push({ res: await api.api('GET', `/api/v1/campaigns/${id}/recipients/${rid}/preview`), ms: performance.now() - t });
      }
      previewing = false;
      await poller;
      for (const { res } of previews) {
        assert.equal(res.status, 422, JSON.stringify(res.body));
        assert.match(res.body.error, /^template-limit: template (render|memory) limit exceeded/);
        assert.equal(res.body.buildStatus, 'blocked');
      }
      const worst = Math.max(...latencies);
      process.stdout.write(`# healthz during hostile previews: ${latencies.length} answers, worst ${worst.toFixed(1)} ms; previews took ${previews.map((p) => p.ms.toFixed(0)).join(', ')} ms\n`);
      assert.ok(latencies.length >= 3, 'healthz was asked while previews ran');
      assert.ok(worst < 100, `/healthz answered within 100 ms (worst ${worst.toFixed(1)} ms)`);

      const fine = await h.api('GET', `/api/v1/campaigns/${id}/recipients/${ann!.id}/preview`);
      assert.equal(fine.status, 200);
      assert.match(fine.body.text, /^Dear Ann,/);
    } finally {
      await api.close();
    }
  });

  test('a template over the parse limit is a 422 naming the field', async () => {
    const api = await startExtraApi(h, { templates: new Templates({ ...DEFAULT_TEMPLATE_LIMITS, parseChars: 2000 }) });
    try {
      const res = await api.api('POST', '/api/v1/campaigns', { ...body(), text: `Dear {{ name }}, ${'x'.repeat(3000)}` });
      assert.equal(res.status, 422);
      assert.ok(res.body.problems.some((p: { path: string; message: string }) => p.path === 'text' && /parse length limit exceeded/.test(p.message)), JSON.stringify(res.body));
    } finally {
      await api.close();
    }
  });

  test('a text part derived from html is bounded: a huge table or deep nesting blocks its recipient, and /healthz keeps answering meanwhile', async () => {
    // 400 × 400 cells (1.6 MB): html-to-text takes about 10 s on the event loop; 20,000 nested divs overflow its stack.
    const table = `<table>${`<tr>${'<td>x</td>'.repeat(400)}</tr>`.repeat(400)}</table>`;
    const deep = `${'<div>'.repeat(20_000)}x${'</div>'.repeat(20_000)}`;
    const started = Date.now();
    const id = await createCampaign(h, {
      name: 'Html only',
      from: 'Acme <billing@acme.test>',
      subject: 'Hello {{ name }}',
      html: `<p>Dear {{ name }},</p>{% if wide %}${table}{% endif %}{% if deep %}${deep}{% endif %}`,
      recipients: [
        { email: 'ann@example.com', name: 'Ann', vars: { wide: false, deep: false } },
        { email: 'wide@example.com', name: 'Wide', vars: { wide: true, deep: false } },
        { email: 'deep@example.com', name: 'Deep', vars: { wide: false, deep: true } },
      ],
    });
    await waitForStatus(h, id, 'awaiting_review', 60_000);
    const rows = await h.sql<{ id: number; email: string; buildStatus: string; buildReasons: string[] }[]>`
      SELECT id, email, build_status, build_reasons FROM recipients WHERE campaign_id = ${id} ORDER BY id`;
    const by = new Map(rows.map((r) => [r.email, r]));
    assert.equal(by.get('ann@example.com')?.buildStatus, 'ready', JSON.stringify(by.get('ann@example.com')?.buildReasons));
    assert.equal(by.get('wide@example.com')?.buildStatus, 'blocked');
    assert.match(by.get('wide@example.com')!.buildReasons[0]!, /^template-limit: text part limit: converting the html took longer than 2000 ms; give the campaign a text template$/);
    assert.equal(by.get('deep@example.com')?.buildStatus, 'blocked');
    assert.match(by.get('deep@example.com')!.buildReasons[0]!, /^template-limit: text part limit: the html could not be converted: nested too deeply/);
    assert.ok(Date.now() - started < 45_000, 'the build was not held up');

    let previewing = true;
    const latencies: number[] = [];
    const poller = (async () => {
      while (previewing) {
        const t = performance.now();
        const res = await fetch(`${h.baseUrl}/healthz`);
        await res.text();
        latencies.push(performance.now() - t);
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    const preview = await h.api('GET', `/api/v1/campaigns/${id}/recipients/${by.get('wide@example.com')!.id}/preview`);
    previewing = false;
    await poller;
    assert.equal(preview.status, 422, JSON.stringify(preview.body));
    assert.match(preview.body.error, /^template-limit: text part limit: converting the html took longer than 2000 ms/);
    const worst = Math.max(...latencies);
    assert.ok(latencies.length >= 5, 'healthz was asked while the preview ran');
    assert.ok(worst < 250, `/healthz answered within 250 ms while the html was converted (worst ${worst.toFixed(1)} ms)`);
    const fine = await h.api('GET', `/api/v1/campaigns/${id}/recipients/${by.get('ann@example.com')!.id}/preview`);
    assert.equal(fine.status, 200);
    assert.match(fine.body.text, /^Dear Ann,/);
  });
});

