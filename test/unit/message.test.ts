import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createCampaignSchema } from '../../src/contract/campaign.js';
import { randomBytes } from 'node:crypto';
import { buildMessage, CampaignRenderer, messageSize, messageSizeBound } from '../../src/mail/message.js';
import { messageIdFor } from '../../src/mail/message-id.js';
import { classifySmtpError } from '../../src/mail/smtp.js';
import { TemplateRenderError, Templates } from '../../src/mail/templates.js';

const templates = new Templates();

const definition = {
  from: { name: 'Acme', address: 'news@acme.test' },
  subject: 'For {{ name }}',
  text: 'Code {{ code }} for {{ email }}',
  html: '<p>{{ name }}</p>',
  vars: { code: 'CAMPAIGN' },
};

test('recipient vars override campaign vars; email and name are always there', async () => {
  const r = new CampaignRenderer(definition, templates);
  const a = await r.render({ id: 1, email: 'a@x.test', name: 'Ann', vars: {} });
  assert.equal(a.text, 'Code CAMPAIGN for a@x.test');
  const b = await r.render({ id: 2, email: 'b@x.test', name: 'Bob', vars: { code: 'B7' } });
  assert.equal(b.text, 'Code B7 for b@x.test');
  assert.equal(b.subject, 'For Bob');
});

test('HTML escapes variables; text does not', async () => {
  const r = new CampaignRenderer({ ...definition, text: '{{ name }}' }, templates);
  const m = await r.render({ id: 1, email: 'a@x.test', name: '<Tom & Jerry>', vars: {} });
  assert.equal(m.html, '<p>&lt;Tom &amp; Jerry&gt;</p>');
  assert.equal(m.text, '<Tom & Jerry>');
});

test('a missing variable is an error naming it, never an empty string', async () => {
  const r = new CampaignRenderer(definition, templates);
  await assert.rejects(r.render({ id: 1, email: 'a@x.test', name: null, vars: {} }), (err: unknown) => {
    assert.ok(err instanceof TemplateRenderError);
    assert.match(err.message, /undefined variable: name/);
    return true;
  });
});

test('templates cannot read local files', async () => {
  const r = new CampaignRenderer({ ...definition, text: "{% include '/etc/passwd' %}" }, templates);
  await assert.rejects(r.render({ id: 1, email: 'a@x.test', name: 'A', vars: {} }), TemplateRenderError);
});

test('the same parts, Message-ID and date build the same bytes', async () => {
  const parts = await new CampaignRenderer(definition, templates).render({ id: 3, email: 'c@x.test', name: 'Cy', vars: {} });
  const id = messageIdFor('c0ffee', 3, 'news@acme.test');
  assert.match(id, /^<c0ffee\.3\.v1(\.[a-z2-7]{24})?@acme\.test>$/);
  const date = new Date('2026-05-01T10:00:00Z');
  const one = await buildMessage(parts, id, date);
  const two = await buildMessage(parts, id, date);
  assert.ok(one.raw.equals(two.raw));
  assert.equal(one.sha256, two.sha256);
  const other = await buildMessage(parts, messageIdFor('c0ffee', 4, 'news@acme.test'), date);
  assert.notEqual(other.sha256, one.sha256);
  assert.ok(one.raw.toString().includes(`\r\nMessage-ID: ${id}\r\n`));
  assert.match(one.raw.toString(), /^Date: Fri, 01 May 2026 10:00:00 \+0000\r$/m);
});

test('the from field takes "Name <address>" or an object', async () => {
  const base = { name: 'n', subject: 's', text: 't', recipients: [{ email: 'a@x.test' }] };
  const s = createCampaignSchema.parse({ ...base, from: 'Acme News <news@acme.test>' });
  assert.deepEqual(s.from, { name: 'Acme News', address: 'news@acme.test' });
  const o = createCampaignSchema.parse({ ...base, from: { address: 'news@acme.test' } });
  assert.deepEqual(o.from, { address: 'news@acme.test' });
  assert.equal(createCampaignSchema.safeParse({ ...base, from: 'a@x.test, b@x.test' }).success, false);
});

test('SMTP failures are sorted by meaning', async () => {
  assert.equal(classifySmtpError({ responseCode: 550, response: '550 5.1.1 no such user' }).kind, 'recipient');
  assert.equal(classifySmtpError({ responseCode: 451, response: '451 4.3.0 try later' }).kind, 'transient');
  assert.equal(classifySmtpError({ responseCode: 421, response: '421 too busy' }).kind, 'transient');
  assert.equal(classifySmtpError({ code: 'ECONNECTION', message: 'connection refused' }).kind, 'transient');
  assert.equal(classifySmtpError({ code: 'EAUTH', responseCode: 535, response: '535 bad credentials' }).kind, 'account');
  assert.equal(classifySmtpError({ responseCode: 550, response: '550 5.4.5 Daily user sending quota exceeded' }).kind, 'account');
  assert.equal(classifySmtpError({ responseCode: 554, response: '554 5.2.0 STOREDRV.Submission.Exception:SubmissionQuotaExceededException' }).kind, 'account');
  assert.equal(classifySmtpError({ responseCode: 553, response: '553 5.1.3 bad recipient address syntax' }).kind, 'recipient');
  const slow = classifySmtpError({ responseCode: 421, response: '421 4.7.0 Try again later, closing connection' });
  assert.deepEqual([slow.kind, slow.kind === 'transient' && slow.slowDown], ['transient', true]);
  const plain = classifySmtpError({ responseCode: 451, response: '451 4.3.0 Local error in processing' });
  assert.deepEqual([plain.kind, plain.kind === 'transient' && plain.slowDown], ['transient', false]);
  const gl = classifySmtpError({ responseCode: 450, response: '450 4.2.1 The user you are trying to contact is receiving mail too quickly' });
  assert.equal(gl.kind === 'transient' && gl.slowDown, true);
});

test('messageSize is the exact length of the built message, whatever the attachments', async () => {
  const parts = await new CampaignRenderer({ ...definition, cc: ['c@x.test'] }, templates).render({ id: 3, email: 'é@x.test', name: 'Zoë', vars: {} });
  const messageId = messageIdFor('c1', 3, definition.from.address);
  const date = new Date('2026-01-02T03:04:05Z');
  // An .eml goes in unencoded with its line endings normalised, so its bytes matter: give it bare LFs.
  const eml = Buffer.from('Subject: old\nFrom: a@x.test\n\nline one\nline two\n'.repeat(40));
  const sets = [
    [],
    [{ filename: 'statement.pdf', content: randomBytes(0) }],
    ...[1, 2, 3, 56, 57, 58, 76, 77, 1000, 250_001].map((n) => [
      { filename: 'statement.pdf', content: randomBytes(n) },
      { filename: 'notes.txt', content: randomBytes(n) },
      { filename: 'Übersicht März.csv', content: randomBytes(n) },
    ]),
    [{ filename: 'forwarded.eml', content: eml }, { filename: 'a.png', content: randomBytes(5000) }],
  ];
  for (const attachments of sets) {
    const built = await buildMessage(parts, messageId, date, attachments);
    let loads = 0;
    const sized = attachments.map((a) => ({ filename: a.filename, size: a.content.length, load: async () => (loads++, a.content) }));
    const size = await messageSize(parts, messageId, date, sized);
    assert.equal(size, built.raw.length, attachments.map((a) => `${a.filename}:${a.content.length}`).join(', '));
    assert.equal(loads, attachments.filter((a) => a.filename.endsWith('.eml')).length, 'only message/* bytes are fetched');
  }
});

test('messageSizeBound is never under the built size, however the text is encoded', async () => {
  const date = new Date('2026-01-02T03:04:05Z');
  const messageId = messageIdFor('c1', 7, 'news@acme.test');
  const base: Parameters<typeof buildMessage>[0] = { from: { name: 'Acme', address: 'news@acme.test' }, to: { address: 'a@x.test' }, cc: [], bcc: [], subject: 's' };
  // What each encoding makes largest: lone non-ASCII words (an encoded-word each), bare LFs (CRLF,
  // then quoted-printable), control bytes, long unbroken lines, IDN domains (punycode), quoted names.
  const odd = ['é', 'ü ä ö ß', 'x\u0001y', '\n', '\r\n\n', '=', '"\\', '🙂', '\u{10FFFF}\u0080', 'a'.repeat(998), 'é'.repeat(500), 'ab é '.repeat(300)];
  const variants: Parameters<typeof buildMessage>[0][] = [
    base,
    ...odd.flatMap((s) => [
      { ...base, subject: s },
      { ...base, text: s.repeat(50) },
      { ...base, html: `<p>${s.repeat(50)}</p>`, text: s },
      { ...base, to: { name: s, address: 'b@x.test' }, from: { name: s.slice(0, 200), address: 'news@acme.test' } },
      { ...base, cc: ['c@x.test', `"${s.slice(0, 60)}" <d@x.test>`], replyTo: 'r@x.test' },
      { ...base, headers: [{ key: 'List-Unsubscribe', value: `<https://x.test/u/${encodeURIComponent(s.slice(0, 200))}>` }], inReplyTo: '<old@x.test>' },
    ]),
    { ...base, to: { name: 'Zoë', address: 'zoë@bücher.test' }, cc: ['x@\u{10FFFF}\u0080\u4e00.test'] },
    { ...base, cc: Array.from({ length: 200 }, (_, i) => `c${i}@x.test`) },
  ];
  for (const parts of variants) {
    for (const attachments of [[], [{ filename: 'é'.repeat(100) + '.pdf', content: randomBytes(100) }, { filename: 'a.bin', content: randomBytes(0) }]]) {
      const built = await buildMessage(parts, messageId, date, attachments);
      const bound = messageSizeBound(parts, messageId, attachments.map((a) => ({ filename: a.filename, size: a.content.length })));
      assert.ok(bound >= built.raw.length, `bound ${bound} under the built ${built.raw.length}: ${JSON.stringify(parts).slice(0, 200)}`);
    }
  }
  assert.equal(messageSizeBound(base, messageId, [{ filename: 'fwd.eml', size: 10 }]), Infinity, 'a message/* attachment is only known built');
});
