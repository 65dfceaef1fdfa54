import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MessageIds } from '../../src/mail/message-id.js';

const OLD_KEY = 'ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100';
const KEY = '00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff';
const CAMPAIGN = '0b5e7c1a-2f4d-4c8e-9a6b-3d2e1f0a9b8c';

test('Message-IDs are deterministic, carry a MAC, and verify only as made', () => {
  const ids = new MessageIds({ masterKey: KEY });
  const id = ids.idFor(CAMPAIGN, 7, 'billing@acme.test');
  assert.equal(ids.idFor(CAMPAIGN, 7, 'billing@acme.test'), id, 'every attempt gets the same id');
  assert.match(id, new RegExp(`^<${CAMPAIGN}\\.7\\.v1\\.[a-z2-7]{24}@acme\\.test>$`));
  assert.deepEqual(ids.verify(id), { campaignId: CAMPAIGN, recipientId: 7 });
  assert.deepEqual(ids.verify(id.toUpperCase()), { campaignId: CAMPAIGN, recipientId: 7 }, 'a server that folds case changes nothing');

  const other = ids.idFor(CAMPAIGN, 8, 'billing@acme.test');
  const mac = /\.([a-z2-7]{24})@/.exec(id)![1]!;
  const otherMac = /\.([a-z2-7]{24})@/.exec(other)![1]!;
  assert.notEqual(mac, otherMac);
  // Guesses: the format before MACs, one recipient's MAC on another's id, a MAC changed by one character.
  assert.equal(ids.verify(`<${CAMPAIGN}.8.v1@acme.test>`), undefined);
  assert.equal(ids.verify(other.replace(otherMac, mac)), undefined);
  assert.equal(ids.verify(id.replace(mac, `${mac.slice(0, -1)}${mac.endsWith('a') ? 'b' : 'a'}`)), undefined);
  assert.equal(ids.verify(id.replace('.v1.', '.v2.')), undefined, 'the version is covered');
  assert.equal(ids.verify(`<test-1.${id.slice(1)}`), undefined, 'a test send id never verifies');
});

test('ids made under a previous master key keep verifying after a rotation; new ones use the new key', () => {
  const before = new MessageIds({ masterKey: OLD_KEY }).idFor(CAMPAIGN, 1, 'billing@acme.test');
  const rotating = new MessageIds({ masterKey: KEY, previousMasterKeys: [OLD_KEY] });
  assert.deepEqual(rotating.verify(before), { campaignId: CAMPAIGN, recipientId: 1 });
  assert.notEqual(rotating.idFor(CAMPAIGN, 1, 'billing@acme.test'), before);
  assert.equal(new MessageIds({ masterKey: KEY }).verify(before), undefined, 'once the old key is gone, its ids no longer verify');
});

test('without MASTER_KEY ids carry no MAC and nothing verifies', () => {
  const ids = new MessageIds();
  assert.equal(ids.verifiable(), false);
  assert.equal(ids.idFor(CAMPAIGN, 7, 'billing@acme.test'), `<${CAMPAIGN}.7.v1@acme.test>`);
  const made = new MessageIds({ masterKey: KEY }).idFor(CAMPAIGN, 7, 'billing@acme.test');
  assert.equal(ids.verify(made), undefined);
});
