import assert from 'node:assert/strict';
import { test } from 'node:test';
import { maskAddressesIn } from '../../src/contract/mask.js';

test('addresses in an SMTP reply are masked; codes and words stay', () => {
  assert.equal(maskAddressesIn('550 5.1.1 <bob.smith@example.com>: Recipient address rejected: User unknown'), '550 5.1.1 <b***@example.com>: Recipient address rejected: User unknown');
  assert.equal(maskAddressesIn('452 4.2.2 mailbox full (ann@x.test, "carl+tag@y.test")'), '452 4.2.2 mailbox full (a***@x.test, "c***@y.test")');
  assert.equal(maskAddressesIn('421 4.7.0 try again later'), '421 4.7.0 try again later');
});
