import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CampaignRenderer } from '../../src/mail/message.js';
import { DEFAULT_TEMPLATE_LIMITS, renderTemplate, Templates } from '../../src/mail/templates.js';

// The send composes every message of a campaign from the same templates: they are compiled once
// per process and text, within bounds, and a campaign whose text changed never gets the old one.

const recipient = { id: 1, email: 'a@x.test', name: 'Ann', vars: { code: 'C1' } };
const definition = { from: { address: 'news@acme.test' }, subject: 'For {{ name }}', text: 'Code {{ code }}', html: '<p>{{ name }}</p>' };

test("a campaign's messages reuse its compiled templates", async () => {
  const templates = new Templates();
  const first = templates.compile(definition.subject, 'plain');
  // A new string with the same text (as every send reads the campaign afresh) finds the same compile.
  const again = templates.compile(`For {{ ${'name'} }}`, 'plain');
  assert.equal(again.tpl, first.tpl);
  await new CampaignRenderer(definition, templates).render(recipient);
  await new CampaignRenderer(definition, templates).render(recipient);
  assert.equal(templates.cachedTemplates, 3);
});

test("a campaign whose content changed renders its new text, never the old template's", async () => {
  const templates = new Templates();
  const before = await new CampaignRenderer(definition, templates).render(recipient);
  assert.equal(before.subject, 'For Ann');
  const after = await new CampaignRenderer({ ...definition, subject: 'Hello {{ name }}, code {{ code }}' }, templates).render(recipient);
  assert.equal(after.subject, 'Hello Ann, code C1');
  assert.equal(after.text, 'Code C1');
});

test('the same text compiles apart as plain text and as html (html escapes)', () => {
  const templates = new Templates();
  const source = '{{ name }}';
  const scope = { name: '<b>' };
  assert.equal(renderTemplate(templates.compile(source, 'plain'), scope), '<b>');
  assert.equal(renderTemplate(templates.compile(source, 'html'), scope), '&lt;b&gt;');
  assert.equal(renderTemplate(templates.compile(source, 'plain'), scope), '<b>');
  assert.equal(templates.cachedTemplates, 1);
});

test('the cache keeps at most its entries, dropping the least recently used', () => {
  const templates = new Templates(DEFAULT_TEMPLATE_LIMITS, { entries: 3, chars: 1_000_000 });
  const kept = templates.compile('A {{ x }}', 'plain');
  for (let i = 0; i < 10; i++) {
    templates.compile(`T${i} {{ x }}`, 'plain');
    // Used again and again: the oldest, but not the least recently used.
    assert.equal(templates.compile('A {{ x }}', 'plain').tpl, kept.tpl);
    assert.ok(templates.cachedTemplates <= 3);
  }
  assert.notEqual(templates.compile('T0 {{ x }}', 'plain').tpl, templates.compile('T0 {{ x }}', 'html').tpl);
});

test('the cache keeps at most its characters, and a text too large for it is compiled each time', () => {
  const templates = new Templates(DEFAULT_TEMPLATE_LIMITS, { entries: 100, chars: 4000 });
  const big = `${'x'.repeat(1200)} {{ name }}`;
  assert.notEqual(templates.compile(big, 'plain').tpl, templates.compile(big, 'plain').tpl);
  assert.equal(templates.cachedTemplates, 0);
  for (let i = 0; i < 10; i++) templates.compile(`${String(i).repeat(900)} {{ name }}`, 'plain');
  // 4 texts of 911 characters fit in 4,000; a fifth does not.
  assert.equal(templates.cachedTemplates, 4);
});

test('a template that does not compile is refused every time, and not kept', () => {
  const templates = new Templates();
  assert.match(templates.problem('{% if %}', 'plain') ?? '', /./);
  assert.match(templates.problem('{% if %}', 'plain') ?? '', /./);
  assert.equal(templates.cachedTemplates, 0);
});
