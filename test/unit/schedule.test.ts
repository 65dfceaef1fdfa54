import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { sendWindowSchema, type SendWindow } from '../../src/contract/send-window.js';
import { expectedSchedule, playByMessage, type ScheduleInput } from '../../src/schedule/expected.js';
import { isOpen, nextSendable, windowWait } from '../../src/schedule/send-window.js';

// Send windows and the expected schedule, against cases worked out by hand (the arithmetic is in
// each case's comment). 60/min spaces slots 1,010 ms apart and 30/min 2,020 ms (a 1 % margin).

const at = (iso: string) => Date.parse(iso);
const iso = (t: number | undefined) => (t === undefined ? undefined : new Date(t).toISOString());
const weekdays = (from: string, to: string, timeZone: string): SendWindow => ({ days: ['mon', 'tue', 'wed', 'thu', 'fri'], from, to, timeZone });
const plan = (o: Partial<ScheduleInput> & { messages: number; startAt: number }) =>
  expectedSchedule({ queuedAhead: 0, windows: [], unthrottledPerMinute: 600, now: o.startAt, ...o });

describe('send windows', () => {
  test('a weekday window in Berlin across the end of summer time (CEST +2, then CET +1)', () => {
    const berlin = [weekdays('08:00', '18:00', 'Europe/Berlin')];
    // Friday 23 October 2026, 17:00 CEST: open until 18:00 CEST = 16:00Z.
    assert.deepEqual(nextSendable(berlin, at('2026-10-23T15:00:00Z')), { open: at('2026-10-23T15:00:00Z'), close: at('2026-10-23T16:00:00Z') });
    // 18:30 CEST Friday: closed; Monday 26 October 08:00 is CET now, 07:00Z.
    assert.equal(iso(nextSendable(berlin, at('2026-10-23T16:30:00Z'))?.open), '2026-10-26T07:00:00.000Z');
    // Sunday 25 October (the day the clocks go back): closed until Monday 07:00Z.
    assert.equal(iso(nextSendable(berlin, at('2026-10-25T12:00:00Z'))?.open), '2026-10-26T07:00:00.000Z');
    assert.equal(isOpen(berlin, at('2026-10-26T06:59:59Z')), false);
    assert.equal(isOpen(berlin, at('2026-10-26T07:00:00Z')), true);
  });

  test('a closed window names its opening as a person reads it, in the zone of the window that opens last', () => {
    const berlin = weekdays('08:00', '18:00', 'Europe/Berlin');
    // Saturday 24 October 2026: Berlin opens Monday 08:00 CET (07:00Z).
    assert.deepEqual(windowWait([berlin], at('2026-10-24T12:00:00Z')), {
      until: at('2026-10-26T07:00:00Z'),
      reason: 'outside the send window until 2026-10-26T07:00:00.000Z',
      opens: 'send window opens Mon 08:00 Europe/Berlin',
    });
    // With New York's 09:00 as well (14:00Z on Monday 26 October, still EDT), New York opens last.
    const newYork = weekdays('09:00', '17:00', 'America/New_York');
    assert.equal(windowWait([berlin, newYork], at('2026-10-24T12:00:00Z'))?.opens, 'send window opens Mon 09:00 America/New_York');
    assert.equal(windowWait([berlin, undefined], at('2026-10-26T08:00:00Z')), undefined);
  });

  test('a window past midnight belongs to the day it opens on', () => {
    const night = [{ days: ['mon'], from: '22:00', to: '06:00', timeZone: 'UTC' } as SendWindow];
    // Tuesday 03:00Z is inside Monday's night.
    assert.deepEqual(nextSendable(night, at('2026-12-01T03:00:00Z')), { open: at('2026-12-01T03:00:00Z'), close: at('2026-12-01T06:00:00Z') });
    // Tuesday 07:00Z: the next night starts Monday 7 December 22:00Z.
    assert.equal(iso(nextSendable(night, at('2026-12-01T07:00:00Z'))?.open), '2026-12-07T22:00:00.000Z');
    // 00:00 to 24:00 is the whole day.
    const sundays = [{ days: ['sun'], from: '00:00', to: '24:00', timeZone: 'UTC' } as SendWindow];
    assert.deepEqual(nextSendable(sundays, at('2026-11-29T23:59:00Z')), { open: at('2026-11-29T23:59:00Z'), close: at('2026-11-30T00:00:00Z') });
    // From a time to the same time is 24 hours; 00:00 to 00:00 is the whole day as well.
    const fromEight = [{ days: ['mon'], from: '08:00', to: '08:00', timeZone: 'UTC' } as SendWindow];
    assert.deepEqual(nextSendable(fromEight, at('2026-12-01T07:00:00Z')), { open: at('2026-12-01T07:00:00Z'), close: at('2026-12-01T08:00:00Z') });
  });

  test("an account's and a campaign's windows: a message goes only when both are open", () => {
    const account = weekdays('08:00', '18:00', 'UTC');
    // 17:00-20:00 in Berlin is 16:00-19:00Z in November; with the account's: 16:00-18:00Z.
    const campaign: SendWindow = { days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'], from: '17:00', to: '20:00', timeZone: 'Europe/Berlin' };
    assert.deepEqual(nextSendable([account, campaign], at('2026-11-30T10:00:00Z')), { open: at('2026-11-30T16:00:00Z'), close: at('2026-11-30T18:00:00Z') });
    // Monday mornings against Tuesday mornings never meet.
    const mondays = { days: ['mon'], from: '08:00', to: '10:00', timeZone: 'UTC' } as SendWindow;
    const tuesdays = { ...mondays, days: ['tue'] } as SendWindow;
    assert.equal(nextSendable([mondays, tuesdays], at('2026-11-30T00:00:00Z')), undefined);
    assert.equal(plan({ messages: 1, startAt: at('2026-11-30T00:00:00Z'), windows: [mondays, tuesdays] }), undefined);
  });

  test('a bad window is refused naming the field', () => {
    const problems = (w: unknown) => sendWindowSchema.safeParse(w).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    assert.deepEqual(problems({ days: ['mon'], from: '08:00', to: '18:00', timeZone: 'Mars/Olympus' }), ['timeZone: is not an IANA time zone such as Europe/Berlin']);
    assert.deepEqual(problems({ days: ['mon'], from: '8am', to: '18:00', timeZone: 'UTC' }), ['from: must be a time of day as HH:MM (00:00 to 23:59)']);
    assert.deepEqual(problems({ days: ['mon'], from: '08:00', to: '8pm', timeZone: 'UTC' }), ['to: must be a time of day as HH:MM (00:00 to 24:00)']);
    assert.deepEqual(problems({ days: ['mon', 'mon'], from: '08:00', to: '18:00', timeZone: 'UTC' }), ['days: names a day twice']);
    assert.deepEqual(problems({ days: ['monday'], from: '08:00', to: '18:00', timeZone: 'UTC' })?.[0]?.split(':')[0], 'days.0');
    assert.deepEqual(problems({ days: [], from: '08:00', to: '18:00', timeZone: 'UTC' }), ['days: must name at least one day']);
  });
});

describe('the expected schedule', () => {
  test('12,000 recipients on a 2,000-a-day account, 30 a minute, weekdays 08:00-18:00 in Berlin: six days', () => {
    // Day 1, Tuesday 1 December 08:00 CET (07:00Z): 2,000 messages 2.02 s apart, the last at
    // 07:00:00 + 1,999 x 2.02 s = 08:07:17.98Z. Each next day the rolling limit lets message n go
    // 24 h + 1 s after message n-2,000: Wednesday +1 s, Thursday +2 s, Friday +3 s. Saturday is
    // outside the window, so message 8,000 waits for Monday 08:00 CET and that day starts afresh at
    // 07:00:00Z; Tuesday 8 December starts at 07:00:01Z and ends 4,037.98 s later, 08:07:18.98Z.
    const s = plan({
      messages: 12_000,
      startAt: at('2026-12-01T07:00:00Z'),
      accountPerMinute: 30,
      perDay: 2000,
      windows: [weekdays('08:00', '18:00', 'Europe/Berlin')],
    });
    assert.deepEqual(s, {
      start: '2026-12-01T07:00:00.000Z',
      finish: '2026-12-08T08:07:18.980Z',
      days: 6,
      timeZone: 'Europe/Berlin',
      summary: '6 days, finishing Tuesday 8 December 09:07 (Europe/Berlin)',
    });
  });

  test('a window that closes part-way: the rest goes when it opens again', () => {
    // Friday 27 November 16:59:00Z, 60 a minute, window 09:00-17:00Z on weekdays. Messages
    // 0-59 go at 16:59:00 + k x 1.01 s (59 x 1.01 = 59.59 s); message 60 would be 17:00:00.60,
    // after the close, so it waits for Monday 09:00:00Z; message 99 is the 40th then, 39.39 s later.
    const s = plan({ messages: 100, startAt: at('2026-11-27T16:59:00Z'), accountPerMinute: 60, windows: [weekdays('09:00', '17:00', 'UTC')] });
    assert.equal(s?.start, '2026-11-27T16:59:00.000Z');
    assert.equal(s?.finish, '2026-11-30T09:00:39.390Z');
    assert.equal(s?.days, 2);
  });

  test('the rolling daily limit: 7 messages at 3 a day', () => {
    // Wednesday 10:00:00, 10:00:01.01, 10:00:02.02; Thursday 10:00:01 (first + 24 h + 1 s),
    // 10:00:02.01, 10:00:03.02; Friday 10:00:02 (Thursday's first + 24 h + 1 s).
    const s = plan({ messages: 7, startAt: at('2026-11-25T10:00:00Z'), accountPerMinute: 60, perDay: 3 });
    assert.equal(s?.finish, '2026-11-27T10:00:02.000Z');
    assert.equal(s?.days, 3);
    assert.equal(s?.summary, '3 days, finishing Friday 27 November 10:00 (UTC)');
  });

  test('what the account sent in the last 24 hours counts against today', () => {
    // 2 a day, one sent 23 h ago and one 1 h ago: the next may go 1 h + 1 s from now.
    const now = at('2026-11-25T10:00:00Z');
    const s = plan({ messages: 1, startAt: now, accountPerMinute: 60, perDay: 2, sentInLast24h: [now - 23 * 3600_000, now - 3600_000, now - 30 * 3600_000] });
    assert.equal(s?.start, '2026-11-25T11:00:01.000Z');
  });

  test("what is queued ahead on the account goes first; the campaign's own lower rate spaces its messages", () => {
    const now = at('2026-11-25T10:00:00Z');
    // Two messages of another campaign at 0 and 1.01 s; this campaign's first 1.01 s later.
    assert.equal(plan({ messages: 1, queuedAhead: 2, startAt: now, accountPerMinute: 60 })?.start, '2026-11-25T10:00:02.020Z');
    // The campaign's 30 a minute spaces its own messages 2.02 s apart.
    assert.equal(plan({ messages: 3, startAt: now, accountPerMinute: 60, campaignPerMinute: 30 })?.finish, '2026-11-25T10:00:04.040Z');
    // No rate at all: the assumed pace (600 a minute, 100 ms apart).
    assert.equal(plan({ messages: 11, startAt: now })?.finish, '2026-11-25T10:00:01.000Z');
    assert.equal(plan({ messages: 0, startAt: now }), undefined);
  });

  test('the summary says how long from now while that is under a day, and the day only when something pushes it there', () => {
    const now = at('2026-11-25T10:00:00Z'); // a Wednesday
    // Three messages, no rate, no window, no daily limit: 100 ms apart, all gone in 0.2 s.
    assert.equal(plan({ messages: 3, startAt: now })?.summary, '1 second, finishing 10:00 (UTC)');
    // 100 at 60 a minute: the last 99 x 1.01 s = 99.99 s from now.
    assert.equal(plan({ messages: 100, startAt: now, accountPerMinute: 60 })?.summary, '2 minutes, finishing 10:01 (UTC)');
    // 3,000 of another campaign ahead at 60 a minute: this one's message goes 3,000 x 1.01 s = 50.5 min from now.
    assert.equal(plan({ messages: 1, queuedAhead: 3000, startAt: now, accountPerMinute: 60 })?.summary, '51 minutes, finishing 10:50 (UTC)');
    // Three messages just before midnight: the last goes tomorrow, still a second away.
    const late = at('2026-11-25T23:59:59.900Z');
    assert.equal(plan({ messages: 3, startAt: late })?.summary, '1 second, finishing Thursday 26 November 00:00 (UTC)');
    // A window closed until 08:00 tomorrow, read at 20:00: 12 hours, and the day is named.
    const daily = { days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'], from: '08:00', to: '18:00', timeZone: 'UTC' } as SendWindow;
    assert.equal(plan({ messages: 1, startAt: at('2026-11-25T20:00:00Z'), windows: [daily] })?.summary, '12 hours, finishing Thursday 26 November 08:00 (UTC)');
    // Read on a Saturday, a weekday window puts three messages on Monday: how long they take that day.
    const saturday = at('2026-11-28T12:00:00Z');
    assert.equal(plan({ messages: 3, startAt: saturday, windows: [weekdays('09:00', '17:00', 'UTC')] })?.summary, '1 second on Monday 30 November, finishing 09:00 (UTC)');
    // A start set for next week: read now, the day is named too.
    assert.equal(plan({ messages: 3, now, startAt: at('2026-12-02T09:00:00Z') })?.summary, '1 second on Wednesday 2 December, finishing 09:00 (UTC)');
  });
});

describe('played an opening at a time', () => {
  // Without a daily limit the schedule is played an opening of the windows at a time; it must
  // answer what playing every message would, across time zones, summer time and queues.
  let seed = 20261204;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const windowSets: SendWindow[][] = [
    [],
    [weekdays('08:00', '18:00', 'Europe/Berlin')],
    [{ days: ['mon', 'wed'], from: '22:00', to: '06:00', timeZone: 'America/New_York' } as SendWindow],
    [weekdays('09:00', '17:30', 'UTC'), { days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'], from: '17:00', to: '20:00', timeZone: 'Europe/Berlin' }],
    [{ days: ['sun'], from: '00:00', to: '24:00', timeZone: 'Australia/Sydney' } as SendWindow],
  ];
  const rates = [undefined, 1, 7, 30, 60, 600];
  // Around the clock changes of 2026 (29 March, 25 October in Europe; 1 November in New York) and plain days.
  const starts = ['2026-03-27T16:59:00Z', '2026-10-23T15:30:00Z', '2026-10-30T20:00:00Z', '2026-12-04T07:15:31Z'].map(at);

  test('agrees with playing every message, in 300 random cases', () => {
    let compared = 0;
    for (let i = 0; i < 300; i++) {
      const startAt = pick(starts) + Math.floor(random() * 7 * 24 * 3600_000);
      const input: ScheduleInput = {
        messages: 1 + Math.floor(random() ** 2 * 4000),
        queuedAhead: pick([0, 0, 1, Math.floor(random() * 3000)]),
        now: startAt,
        startAt,
        accountPerMinute: pick(rates),
        campaignPerMinute: pick(rates),
        windows: pick(windowSets),
        unthrottledPerMinute: 600,
      };
      const fast = expectedSchedule(input);
      const slow = playByMessage(input);
      const label = JSON.stringify(input);
      if (!slow) {
        assert.equal(fast, undefined, label);
        continue;
      }
      assert.ok(fast, label);
      assert.ok(Math.abs(Date.parse(fast.start) - Date.parse(slow.start)) <= 1, `start ${fast.start} vs ${slow.start}: ${label}`);
      assert.ok(Math.abs(Date.parse(fast.finish) - Date.parse(slow.finish)) <= 1, `finish ${fast.finish} vs ${slow.finish}: ${label}`);
      assert.equal(fast.days, slow.days, label);
      assert.equal(fast.timeZone, slow.timeZone);
      compared++;
    }
    assert.ok(compared > 250, `${compared} cases compared`);
  });
});
