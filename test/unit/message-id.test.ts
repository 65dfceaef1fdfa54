import assert from 'node:assert/strict';
import { test } from 'node:test';
import { configureMessageIds, messageIdFor, verifyMessageId } from '../../src/mail/message-id.js';

const OLD_KEY = 'ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100';
const KEY = '00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff';
const CAMPAIGN = '0b5e7c1a-2f4d-4c8e-9a6b-3d2e1f0a9b8c';

test('Message-IDs are deterministic, carry a MAC, and verify only as made', () => {
  configureMessageIds({ masterKey: KEY });
  const id = messageIdFor(CAMPAIGN, 7, 'billing@acme.test');
  assert.equal(messageIdFor(CAMPAIGN, 7, 'billing@acme.test'), id, 'every attempt gets the same id');
  assert.match(id, new RegExp(`^<${CAMPAIGN}\\.7\\.v1\\.[a-z2-7]{24}@acme\\.test>$`));
  assert.deepEqual(verifyMessageId(id), { campaignId: CAMPAIGN, recipientId: 7 });
  assert.deepEqual(verifyMessageId(id.toUpperCase()), { campaignId: CAMPAIGN, recipientId: 7 }, 'a server that folds case changes nothing');

  const other = messageIdFor(CAMPAIGN, 8, 'billing@acme.test');
  const mac = /\.([a-z2-7]{24})@/.exec(id)![1]!;
  const otherMac = /\.([a-z2-7]{24})@/.exec(other)![1]!;
  assert.notEqual(mac, otherMac);
  // Guesses: the format before MACs, one recipient's MAC on another's id, a MAC changed by one character.
  assert.equal(verifyMessageId(`<${CAMPAIGN}.8.v1@acme.test>`), undefined);
  assert.equal(verifyMessageId(other.replace(otherMac, mac)), undefined);
  assert.equal(verifyMessageId(id.replace(mac, `${mac.slice(0, -1)}${mac.endsWith('a') ? 'b' : 'a'}`)), undefined);
  assert.equal(verifyMessageId(id.replace('.v1.', '.v2.')), undefined, 'the version is covered');
  assert.equal(verifyMessageId(`<test-1.${id.slice(1)}`), undefined, 'a test send id never verifies');
});

test('ids made under a previous master key keep verifying after a rotation; new ones use the new key', () => {
  configureMessageIds({ masterKey: OLD_KEY });
  const before = messageIdFor(CAMPAIGN, 1, 'billing@acme.test');
  configureMessageIds({ masterKey: KEY, previousMasterKeys: [OLD_KEY] });
  assert.deepEqual(verifyMessageId(before), { campaignId: CAMPAIGN, recipientId: 1 });
  assert.notEqual(messageIdFor(CAMPAIGN, 1, 'billing@acme.test'), before);
  configureMessageIds({ masterKey: KEY });
  assert.equal(verifyMessageId(before), undefined, 'once the old key is gone, its ids no longer verify');
});
