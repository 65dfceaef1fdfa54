import assert from 'node:assert/strict';
import { test } from 'node:test';
import { htmlToText } from '../../src/mail/html-text.js';
import { TemplateRenderError } from '../../src/mail/templates.js';

test('conversions asked for together each get their own text, and only the html at fault is refused', async () => {
  const deep = `${'<div>'.repeat(20_000)}x${'</div>'.repeat(20_000)}`;
  // 200 at once: several batches; the deep one in the middle of one of them.
  const asked = Array.from({ length: 200 }, (_, i) => (i === 77 ? deep : `<p>Dear customer ${i},</p><p>balance ${i * 3}</p>`));
  const answers = await Promise.allSettled(asked.map((html) => htmlToText(html)));
  answers.forEach((a, i) => {
    if (i === 77) {
      assert.equal(a.status, 'rejected');
      const err = (a as PromiseRejectedResult).reason as TemplateRenderError;
      assert.ok(err instanceof TemplateRenderError && err.overLimit);
      assert.match(err.message, /^text part limit: the html could not be converted: nested too deeply/);
    } else {
      assert.equal(a.status, 'fulfilled', String((a as PromiseRejectedResult).reason));
      assert.equal((a as PromiseFulfilledResult<string>).value, `Dear customer ${i},\n\nbalance ${i * 3}`);
    }
  });
  // The converter goes on converting after a refusal.
  assert.equal(await htmlToText('<p>again</p>'), 'again');
});
