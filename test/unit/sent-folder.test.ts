import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pickSentFolder } from '../../src/mail/imap.js';

// Sending and account verification find the Sent folder by one rule: verify once said "no Sent
// folder" for an account whose server lists "Sent Items" without the \Sent flag, where sending found it.

const box = (path: string, specialUse?: string) => ({ path, name: path.split('/').at(-1)!, specialUse });

test('the \\Sent flag wins over names; without it a usual name in any language is found', () => {
  assert.equal(pickSentFolder([box('INBOX'), box('Sent Items'), box('Archive/Outbox', '\\Sent')]), 'Archive/Outbox');
  assert.equal(pickSentFolder([box('INBOX'), box('Sent Items'), box('Drafts', '\\Drafts')]), 'Sent Items');
  assert.equal(pickSentFolder([box('INBOX'), box('INBOX/Gesendete Elemente')]), 'INBOX/Gesendete Elemente');
  assert.equal(pickSentFolder([box('INBOX'), box('sent messages')]), 'sent messages');
  assert.equal(pickSentFolder([box('INBOX'), box('Drafts', '\\Drafts')]), undefined);
});
