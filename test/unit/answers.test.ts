import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { simpleParser } from 'mailparser';
import { answerOf } from '../../src/bounces/replies.js';

// What a message read from an INBOX answers, and whether a person or a program wrote it, from the
// bytes a mail program writes (parsed by mailparser, as the INBOX check does).

const ORIGINAL = '<c.1.v1.abcdefghijklmnopqrstuvwx@acme.test>';

async function answer(headers: string[], subject = 'Re: Your statement') {
  const raw = [
    'From: Ann <ann@example.com>',
    'To: billing@acme.test',
    `Subject: ${subject}`,
    'Message-ID: <answer-1@example.com>',
    `In-Reply-To: ${ORIGINAL}`,
    `References: ${ORIGINAL}`,
    ...headers,
    '',
    'Thanks, paid today.',
    '',
  ].join('\r\n');
  return answerOf(await simpleParser(raw));
}

describe('answers', () => {
  test("a person's reply names what it answers and its own Message-ID", async () => {
    assert.deepEqual(await answer([]), { kind: 'replied', messageId: '<answer-1@example.com>', answers: [ORIGINAL] });
    assert.equal((await answer(['Auto-Submitted: no']))?.kind, 'replied', 'Auto-Submitted: no is a person');
    assert.equal((await answer(['Precedence: list']))?.kind, 'replied', 'a mailing list is not an automatic answer');
    assert.equal((await answer([], 'Re: Automatic reply: is not the first word'))?.kind, 'replied');
  });

  test('each sign of a program makes it auto_replied', async () => {
    for (const signs of [['Auto-Submitted: auto-replied'], ['Auto-Submitted: auto-generated'], ['X-Autoreply: yes'], ['X-Autorespond: on'], ['Precedence: bulk'], ['Precedence: junk'], ['Precedence: auto_reply']]) {
      assert.equal((await answer(signs))?.kind, 'auto_replied', signs.join());
    }
    for (const subject of ['Automatic reply: Your statement', 'Out of Office: Your statement', 'Auto-Reply: Your statement', 'Abwesenheitsnotiz: Ihre Rechnung']) {
      assert.equal((await answer([], subject))?.kind, 'auto_replied', subject);
    }
  });

  test('a message that names nothing of ours answers nothing', async () => {
    const raw = 'From: ann@example.com\r\nTo: billing@acme.test\r\nSubject: Hello\r\nMessage-ID: <x@example.com>\r\n\r\nA new conversation.\r\n';
    assert.equal(answerOf(await simpleParser(raw)), undefined);
  });
});
