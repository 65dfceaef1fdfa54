import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { literalFolder } from '../src/build/attachment-index.js';
import { AttachmentResolver } from '../src/build/attachments.js';
import { isGlobTemplate } from '../src/contract/key-patterns.js';
import { attachmentSchema } from '../src/contract/campaign.js';
import { createS3Store, type S3Store } from '../src/s3/client.js';
import { scopedStore } from '../src/s3/locations.js';

// Attachment look-ups against the real moto S3 server: the listed-once folder index must find
// exactly what asking S3 per recipient finds, with far fewer requests.

const endpoint = process.env.CM_TEST_S3_ENDPOINT;
if (!endpoint) throw new Error('CM_TEST_S3_ENDPOINT is not set: run the tests with `npm test`');
const bucket = `attachments-${Date.now().toString(36)}`;
const client = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
const store = createS3Store({ S3_ENDPOINT: endpoint, S3_REGION: 'us-east-1', S3_ACCESS_KEY_ID: 'test', S3_SECRET_ACCESS_KEY: 'test', S3_FORCE_PATH_STYLE: true });

const objects: Record<string, number> = {
  'st/C1/2026-10.pdf': 11,
  'st/C1/2026-10-corrected.pdf': 12,
  'st/C10/2026-10.pdf': 13, // shares the prefix "st/C1" with C1's folder: must not match C1
  'st/C2/2026-10.pdf': 0,
  'st/C3.pdf': 14,
  'st/Ü/2026-10.pdf': 15, // sorts after "Z" in UTF-8 and in UTF-16 alike
  'st/Z/2026-10.pdf': 16,
  'st/.hidden/x.pdf': 17,
  'st/Smith (2).pdf': 20, // parentheses in a value are a name, not a glob group
  'st/C*/2026-10.pdf': 21, // a folder literally named C*
  'other/C1/2026-10.pdf': 18,
  'brochure.pdf': 19,
};

before(async () => {
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  for (const [key, size] of Object.entries(objects)) {
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: Buffer.alloc(size, 1) }));
  }
});
after(() => {
  client.destroy();
  store.close();
});

/** The real store, counting the requests made through it. */
function counting(s3: S3Store) {
  const calls = { head: 0, list: 0 };
  const counted: S3Store = {
    ...s3,
    head: (b, k) => (calls.head++, s3.head(b, k)),
    list: (b, p) => (calls.list++, s3.list(b, p)),
  };
  return { counted, calls };
}

const specs = [
  attachmentSchema.parse({ bucket, key: 'st/{{ id }}/*.pdf', required: false, maxMatches: 5 }),
  attachmentSchema.parse({ bucket, key: 'st/{{ id }}.pdf', required: false }),
  attachmentSchema.parse({ bucket, key: 'brochure.pdf' }),
];
const ids = ['C1', 'C10', 'C2', 'C3', 'Ü', 'Z', '.hidden', 'Smith (2)', 'C*', '*', 'missing'];

test('a key is a glob by its template, never by a variable value', () => {
  assert.equal(isGlobTemplate('st/{{ id }}/*.pdf'), true);
  assert.equal(isGlobTemplate('st/{{ id }}.pdf'), false);
  assert.equal(isGlobTemplate('st/{% if a %}x{% endif %}.pdf'), false);
  assert.equal(isGlobTemplate('st/{a,b}.pdf'), true);
  assert.equal(literalFolder('statements/2026-10/{{ id }}.pdf', false), 'statements/2026-10/');
  assert.equal(literalFolder('statements (old)/{{ id }}.pdf', false), 'statements (old)/');
  assert.equal(literalFolder('statements/{{ id }}/*.pdf', true), 'statements/');
  assert.equal(literalFolder('st/a*/x.pdf', true), 'st/');
  assert.equal(literalFolder('{{ id }}.pdf', false), '');
  assert.equal(literalFolder('brochure.pdf', false), '');
});

test('the folder index finds exactly what per-recipient HEAD and LIST requests find', async () => {
  const indexed = counting(store);
  const direct = counting(store);
  const withIndex = new AttachmentResolver(specs, indexed.counted, { indexAfter: 0 });
  const withoutIndex = new AttachmentResolver(specs, direct.counted, { indexAfter: 0, maxIndexKeys: 1 }); // "st/" holds more
  for (const id of ids) {
    const a = await withIndex.resolve({ id });
    const b = await withoutIndex.resolve({ id });
    assert.deepEqual(a, b, `recipient ${id}`);
  }
  const c1 = await withIndex.resolve({ id: 'C1' });
  assert.deepEqual(c1.found.map((f) => `${f.key}:${f.size}`), ['st/C1/2026-10-corrected.pdf:12', 'st/C1/2026-10.pdf:11', 'brochure.pdf:19']);
  assert.deepEqual((await withIndex.resolve({ id: 'Ü' })).found.map((f) => f.key), ['st/Ü/2026-10.pdf', 'brochure.pdf']);
  assert.deepEqual((await withIndex.resolve({ id: '.hidden' })).found.map((f) => f.key), ['st/.hidden/x.pdf', 'brochure.pdf']);
  assert.deepEqual((await withIndex.resolve({ id: 'Smith (2)' })).found.map((f) => f.key), ['st/Smith (2).pdf', 'brochure.pdf']);
  // a value with glob characters matches only the folder of that literal name
  assert.deepEqual((await withIndex.resolve({ id: 'C*' })).found.map((f) => f.key), ['st/C*/2026-10.pdf', 'brochure.pdf']);
  assert.deepEqual((await withIndex.resolve({ id: '*' })).found.map((f) => f.key), ['brochure.pdf']);
  const c2 = await withIndex.resolve({ id: 'C2' });
  assert.deepEqual(c2.warnings, [`attachment-empty: s3://${bucket}/st/C2/2026-10.pdf is 0 bytes`]);
  assert.deepEqual(c2.review, [`attachment-optional-missing: s3://${bucket}/st/C2.pdf does not exist`]);

  // one listing of "st/" serves both templated specs; the constant key is asked for once
  assert.deepEqual(indexed.calls, { head: 1, list: 1 });
  // without the index: a LIST and a HEAD per recipient look-up (the constant key still once)
  assert.equal(direct.calls.list, 1 + ids.length);
  assert.equal(direct.calls.head, ids.length + 1);
});

test('a short list asks S3 directly and lists the folder only once it has asked often enough', async () => {
  const { counted, calls } = counting(store);
  const resolver = new AttachmentResolver([specs[1]!], counted, { indexAfter: 3 });
  for (const id of ['C3', 'C1', 'Smith (2)']) await resolver.resolve({ id });
  assert.deepEqual(calls, { head: 3, list: 0 });
  assert.deepEqual((await resolver.resolve({ id: 'C3' })).found.map((f) => f.key), ['st/C3.pdf']);
  assert.deepEqual((await resolver.resolve({ id: 'Smith (2)' })).found.map((f) => f.key), ['st/Smith (2).pdf']);
  assert.deepEqual(calls, { head: 3, list: 1 });
});

test('a list longer than one batch lists the folder at once: exactly the recipients whose key is missing are blocked, C1 never taken for C10', async () => {
  const folder = 'long/';
  // 1,200 recipients (two pages of the listing); every seventh has no statement, and C1, C12, C120 are
  // missing while C10, C121 and C1200 are there: a key that is a prefix of another is not found by it.
  const missing = new Set(['C1', 'C12', 'C120']);
  for (let i = 1; i <= 1200; i++) if (i % 7 === 0) missing.add(`C${i}`);
  const present = Array.from({ length: 1200 }, (_, i) => `C${i + 1}`).filter((id) => !missing.has(id));
  for (let i = 0; i < present.length; i += 50) {
    await Promise.all(present.slice(i, i + 50).map((id) => client.send(new PutObjectCommand({ Bucket: bucket, Key: `${folder}${id}.pdf`, Body: Buffer.alloc(3, 1) }))));
  }
  const spec = attachmentSchema.parse({ bucket, key: `${folder}{{ customerId }}.pdf`, required: true });
  const { counted, calls } = counting(store);
  const resolver = new AttachmentResolver([spec], counted);
  resolver.expectMany();
  const blocked: string[] = [];
  for (let i = 1; i <= 1200; i++) {
    const found = await resolver.resolve({ customerId: `C${i}` });
    if (found.blocked.length) {
      assert.deepEqual(found.blocked, [`attachment-missing: s3://${bucket}/${folder}C${i}.pdf does not exist`]);
      assert.deepEqual(found.found, []);
      blocked.push(`C${i}`);
    } else {
      assert.deepEqual(found.found.map((f) => [f.key, f.size]), [[`${folder}C${i}.pdf`, 3]]);
    }
  }
  assert.deepEqual(blocked.sort(), [...missing].sort());
  assert.deepEqual(calls, { head: 0, list: 1 }, 'one listing of the folder, no HEAD per recipient');
});

test('the folder index does not stand in for the location check: a key outside the tenant\'s locations is refused by name', async () => {
  // The tenant may read long/C1*, not the rest of long/ (its locations narrowed since the campaign was made).
  const scoped = scopedStore(store, [{ bucket, prefix: 'long/C1' }]);
  const spec = attachmentSchema.parse({ bucket, key: 'long/{{ customerId }}.pdf', required: true });
  const resolver = new AttachmentResolver([spec], scoped);
  resolver.expectMany();
  assert.deepEqual((await resolver.resolve({ customerId: 'C5' })).blocked, [`attachment-location: s3://${bucket}/long/C5.pdf is outside the S3 locations this tenant may read`]);
  assert.deepEqual((await resolver.resolve({ customerId: 'C1/../C5' })).blocked.map((b) => b.split(':')[0]), ['attachment-location']);
});
