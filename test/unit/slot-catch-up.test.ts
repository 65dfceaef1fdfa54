import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { CATCH_UP_MAX_MS, CATCH_UP_SLOTS, releaseSlot, reserveSlot, slowDown, type Reservation, type ReservedSlot } from '../../src/db/send-slots.js';
import { spacingMs } from '../../src/schedule/spacing.js';
import { startFastApp, type FastApp } from '../helpers/fast-app.js';

// The slot schedule on a real PostgreSQL: slots that passed unreserved during a short stall are
// taken up again (a short burst), within the catch-up's bounds; an idle schedule starts at the pace.

let f: FastApp;
before(async () => {
  f = await startFastApp();
});
after(async () => {
  await f?.close();
});

const slot = (r: Reservation): ReservedSlot => {
  assert.equal(r.kind, 'slot', JSON.stringify(r));
  return r as ReservedSlot;
};

/** Puts the schedule of `key` `ms` behind the database's clock, as a stall that long would leave it. */
async function behind(key: string, ms: number): Promise<void> {
  await f.sql`
    INSERT INTO send_slots (key, next_at) VALUES (${key}, clock_timestamp() - ${ms} * interval '1 millisecond')
    ON CONFLICT (key) DO UPDATE SET next_at = EXCLUDED.next_at`;
}

/** Reserves `n` slots one after the other, as sends would at once. */
async function burst(limits: { key: string; perMinute?: number; perDay?: number }[], n: number): Promise<{ now: number; slots: ReservedSlot[] }> {
  const slots: ReservedSlot[] = [];
  const now = Date.now();
  for (let i = 0; i < n; i++) slots.push(slot(await reserveSlot(f.sql, limits, 30_000)));
  return { now, slots };
}
/**
 * How many of the slots go at once: those whose schedule time had come when the burst began (the
 * next is a spacing later). Counted by schedule time, not by when each went, so a slow database
 * (the reservations take their time one after the other) does not change the count.
 */
const goingNow = (b: { now: number; slots: ReservedSlot[] }) => b.slots.filter((s) => s.taken[0]!.from.getTime() <= b.now + 100).length;

test('a schedule a few seconds behind: the slots that passed are taken up at once, a spacing apart in the schedule', async () => {
  const key = 'account:t/stalled';
  const gap = spacingMs(60);
  await behind(key, 3 * gap + 200);
  const b = await burst([{ key, perMinute: 60 }], 6);
  assert.equal(goingNow(b), 4, 'the three slots that passed and the one due now go at once');
  const from = b.slots.map((s) => s.taken[0]!.from.getTime());
  for (let i = 1; i < from.length; i++) assert.ok(Math.abs(from[i]! - from[i - 1]! - gap) < 1, 'the schedule keeps its spacing');
  for (const s of b.slots) assert.ok(s.at.getTime() >= s.taken[0]!.from.getTime(), 'a slot never goes before its schedule time');
});

test('a schedule further behind than the catch-up: at most the bound is made up, the rest is lost', async () => {
  const key = 'account:t/long-stall';
  const gap = spacingMs(60);
  await behind(key, 30_000);
  const b = await burst([{ key, perMinute: 60 }], CATCH_UP_SLOTS + 4);
  assert.equal(goingNow(b), CATCH_UP_SLOTS + 1, `${CATCH_UP_SLOTS} spacings made up, then the one due now`);
  assert.ok(CATCH_UP_SLOTS * gap <= CATCH_UP_MAX_MS);
});

test('an idle schedule (unused for over a minute) starts at the pace: no burst at all', async () => {
  const key = 'account:t/idle';
  await behind(key, 3600_000);
  const b = await burst([{ key, perMinute: 60 }], 3);
  assert.equal(goingNow(b), 1);
});

test('a low rate: only whole spacings within the time bound made up (none for a spacing over it); none while slowed down', async () => {
  const key = 'account:t/slow-rate';
  await behind(key, 50_000);
  const one = await burst([{ key, perMinute: 2 }], 1);
  assert.equal(goingNow(one), 1);
  const [row] = await f.sql<{ nextAt: Date }[]>`SELECT next_at FROM send_slots WHERE key = ${key}`;
  assert.ok(row!.nextAt.getTime() >= one.now + spacingMs(2) - 100, 'a 30 s spacing is more than the 10 s bound: nothing made up, the next slot a spacing from now');
  const key2 = 'account:t/few';
  await behind(key2, 50_000);
  assert.equal(goingNow(await burst([{ key: key2, perMinute: 10 }], 3)), 2, 'one whole 6 s spacing made up: two would be more than the 10 s');
  const key3 = 'account:t/slowed';
  await behind(key3, 10_000);
  await slowDown(f.sql, key3, '421 too fast');
  assert.equal(goingNow(await burst([{ key: key3, perMinute: 60 }], 3)), 1, 'a slowed account catches nothing up');
});

test('the daily count and a given-back slot: counted when the message goes, and the schedule time returned', async () => {
  const key = 'account:t/daily';
  await behind(key, 3000);
  const before = Date.now();
  const s = slot(await reserveSlot(f.sql, [{ key, perMinute: 60, perDay: 100 }], 30_000));
  assert.ok(s.taken[0]!.from.getTime() < before - 2000, 'a slot of the past schedule');
  assert.ok(s.at.getTime() >= before - 50, 'goes now, not in the past');
  const logged = await f.sql<{ at: Date }[]>`SELECT at FROM send_slot_log WHERE key = ${key}`;
  assert.deepEqual(logged.map((r) => r.at.getTime()), [s.at.getTime()], 'the rolling day counts it when it goes');
  await releaseSlot(f.sql, s);
  assert.equal((await f.sql`SELECT 1 FROM send_slot_log WHERE key = ${key}`).length, 0, 'the day forgets a slot given back');
  const [row] = await f.sql<{ nextAt: Date }[]>`SELECT next_at FROM send_slots WHERE key = ${key}`;
  assert.equal(row!.nextAt.getTime(), s.taken[0]!.from.getTime(), 'the schedule steps back to the slot’s time');
});

test('the daily limit still counts exactly with a caught-up schedule', async () => {
  const key = 'account:t/daily-full';
  await behind(key, 5000);
  const b = await burst([{ key, perMinute: 60, perDay: 3 }], 3);
  assert.equal(b.slots.length, 3);
  const fourth = await reserveSlot(f.sql, [{ key, perMinute: 60, perDay: 3 }], 30_000);
  assert.equal(fourth.kind, 'later');
  assert.match((fourth as { reason: string }).reason, /daily limit of 3/);
});
