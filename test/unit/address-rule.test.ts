import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addressProblem } from '../../src/contract/address.js';
import { recipientInputSchema } from '../../src/contract/campaign.js';

// The console's live preview flags an address by addressProblem; the build blocks a recipient by
// recipientInputSchema. For every sample both must say the same thing, or the preview misleads.
const SAMPLES = [
  'ann@example.com',
  '  padded@example.com ',
  "o'brien+tag@mail.example.co.uk",
  'not-an-address',
  '',
  'two@@example.com',
  'dot.@example.com',
  'x@-bad.example.com',
  'x@example.c',
  `x@${'a'.repeat(63)}.com`,
  `x@${'a'.repeat(64)}.com`,
  `${'a'.repeat(64)}@${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(57)}.com`,
  `${'a'.repeat(64)}@${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(63)}.com`,
  'ann@exämple.com',
];

test('the address rule the console bundles says of each address what the API says of a recipient', () => {
  for (const email of SAMPLES) {
    const parsed = recipientInputSchema.safeParse({ email });
    const api = parsed.success ? undefined : parsed.error.issues.find((i) => i.path[0] === 'email')?.message;
    assert.equal(addressProblem(email), api, JSON.stringify(email));
  }
  // The samples reach every answer: valid, not valid, too long.
  assert.deepEqual(new Set(SAMPLES.map(addressProblem)), new Set([undefined, 'is not a valid email address', 'is longer than 254 characters']));
});
