import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startUnderMinuteLimits } from '../../src/db/send-slots.js';
import { MINUTE_WINDOW_MS } from '../../src/schedule/spacing.js';
import { startFastApp, type FastApp } from '../helpers/fast-app.js';

// The per-minute guard right before SMTP, on a real PostgreSQL: whatever delayed messages after
// their slots (so that they arrive bunched), no window of a minute gets more starts than the limit.

let f: FastApp;
before(async () => {
  f = await startFastApp();
});
after(async () => {
  await f?.close();
});

const startsOf = async (key: string) => (await f.sql<{ at: Date }[]>`SELECT at FROM send_starts WHERE key = ${key} ORDER BY at`).map((r) => r.at.getTime());

test('messages whose slots slipped and bunched up: the limit-th starts, the next waits until the first leaves the window', async () => {
  const limits = [{ key: 'account:t/bunched', perMinute: 3 }];
  for (let i = 0; i < 3; i++) assert.equal(await startUnderMinuteLimits(f.sql, limits), undefined, `start ${i + 1} of 3`);
  const starts = await startsOf('account:t/bunched');
  assert.equal(starts.length, 3);
  const roomAt = await startUnderMinuteLimits(f.sql, limits);
  assert.ok(roomAt, 'a fourth start within the minute is refused');
  assert.equal(roomAt.getTime(), starts[0]! + MINUTE_WINDOW_MS, 'room again when the first start leaves the window');
  assert.ok(MINUTE_WINDOW_MS > 60_000, 'the window is wider than the provider’s minute');
  assert.equal((await startsOf('account:t/bunched')).length, 3, 'a refused start records nothing');
});

test('every limit must have room: the campaign’s lower rate refuses though the account has room, and the account records nothing', async () => {
  const limits = [
    { key: 'account:t/shared', perMinute: 5 },
    { key: 'campaign:lower', perMinute: 2 },
  ];
  assert.equal(await startUnderMinuteLimits(f.sql, limits), undefined);
  assert.equal(await startUnderMinuteLimits(f.sql, limits), undefined);
  assert.ok(await startUnderMinuteLimits(f.sql, limits), 'the campaign allows two a minute');
  assert.equal((await startsOf('account:t/shared')).length, 2);
  assert.equal(await startUnderMinuteLimits(f.sql, [limits[0]!]), undefined, 'another campaign on the account still has room');
  assert.equal(await startUnderMinuteLimits(f.sql, [{ key: 'account:t/none' }]), undefined, 'no per-minute limit: nothing to wait for');
  assert.equal((await startsOf('account:t/none')).length, 0, 'and nothing recorded');
});

test('starts older than the window neither count nor stay', async () => {
  const key = 'account:t/old';
  await f.sql`INSERT INTO send_starts (key, at) SELECT ${key}, clock_timestamp() - interval '61 seconds' FROM generate_series(1, 3)`;
  assert.equal(await startUnderMinuteLimits(f.sql, [{ key, perMinute: 3 }]), undefined);
  assert.equal((await startsOf(key)).length, 1, 'the old starts were deleted as the new one was written');
});

test('workers starting at once on one account: exactly the limit get through', async () => {
  const limits = [{ key: 'account:t/race', perMinute: 4 }];
  const answers = await Promise.all(Array.from({ length: 12 }, () => startUnderMinuteLimits(f.sql, limits)));
  assert.equal(answers.filter((a) => a === undefined).length, 4);
  assert.equal((await startsOf('account:t/race')).length, 4);
});
