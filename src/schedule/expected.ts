import { DateTime } from 'luxon';
import type { SendWindow } from '../contract/send-window.js';
import { nextSendable, type Opening } from './send-window.js';
import { SPACING_MARGIN, spacingMs } from './spacing.js';

// When a campaign's messages are expected to go: the account's per-minute spacing and rolling
// 24-hour limit, the campaign's own lower rate, the send windows, and what the account already
// has queued ahead of it, played forward message by message exactly as the throttle will
// reserve slots. Pure, so it is tested against cases worked out by hand.

const DAY_MS = 24 * 3600_000;
/** A message held back by the daily limit goes this long after the oldest one of the last 24 hours. */
const DAILY_LIMIT_SLACK_MS = 1000;

export interface ScheduleInput {
  /** Messages this campaign still has to send. */
  messages: number;
  /** Messages other campaigns on the same account will send first. */
  queuedAhead: number;
  /** Epoch ms: the moment the plan is read; the summary says how long from it. */
  now: number;
  /** Epoch ms: now, or the campaign's start time if later. */
  startAt: number;
  /** The account's rate. */
  accountPerMinute?: number;
  /** The campaign's own, lower rate. */
  campaignPerMinute?: number;
  /** The account's rolling 24-hour limit, and when it sent in the 24 hours before `startAt`. */
  perDay?: number;
  sentInLast24h?: readonly number[];
  /** The account's and the campaign's windows; every one must be open. */
  windows: readonly SendWindow[];
  /** The pace assumed when no rate is set at all (what SMTP manages is not known in advance). */
  unthrottledPerMinute: number;
}

export interface Schedule {
  start: string;
  finish: string;
  /** Calendar days (in the time zone of the first window, else UTC) on which messages go. */
  days: number;
  timeZone: string;
  /**
   * In words, for a reviewer, true at the moment of reading: "3 seconds, finishing 14:02 (UTC)"
   * when the last message goes within a day of it (its weekday named when not today), "6 days,
   * finishing Tuesday 8 December 09:07 (Europe/Berlin)" when a daily limit, a window or a later
   * start pushes it further.
   */
  summary: string;
}

/** The rolling 24-hour limit as a ring of the last `perDay` send times. */
class DailyLimit {
  private readonly ring: number[];
  private next = 0;
  constructor(
    private readonly perDay: number | undefined,
    earlier: readonly number[],
  ) {
    this.ring = [...earlier].sort((a, b) => a - b).slice(-(perDay ?? 0));
    this.next = perDay && this.ring.length === perDay ? 0 : this.ring.length;
  }
  /** The earliest time at or after `t` a message may go under the limit. */
  earliest(t: number): number {
    if (!this.perDay || this.ring.length < this.perDay) return t;
    const oldest = this.ring[this.next]!;
    return oldest > t - DAY_MS ? oldest + DAY_MS + DAILY_LIMIT_SLACK_MS : t;
  }
  record(t: number): void {
    if (!this.perDay) return;
    if (this.ring.length < this.perDay) this.ring.push(t);
    else this.ring[this.next] = t;
    this.next = (this.next + 1) % this.perDay;
  }
}

/** Counts the distinct local days the given (ascending) instants fall on. */
class DayCounter {
  days = 0;
  private dayEnd = Number.NEGATIVE_INFINITY;
  constructor(private readonly zone: string) {}
  add(t: number): void {
    if (t < this.dayEnd) return;
    this.days++;
    this.dayEnd = DateTime.fromMillis(t, { zone: this.zone }).plus({ days: 1 }).startOf('day').toMillis();
  }
  /** Messages from `a` to `b` less than a day apart: every local day from the first to the last has one. */
  addRange(a: number, b: number): void {
    if (b < this.dayEnd) return;
    const firstDay = DateTime.fromMillis(Math.max(a, this.dayEnd), { zone: this.zone }).startOf('day');
    const lastDay = DateTime.fromMillis(b, { zone: this.zone }).startOf('day');
    this.days += Math.round(lastDay.diff(firstDay, 'days').days) + 1;
    this.dayEnd = lastDay.plus({ days: 1 }).toMillis();
  }
}

function gapsOf(input: ScheduleInput): { accountGap: number; campaignGap: number } {
  const unthrottled = !input.accountPerMinute && !input.campaignPerMinute;
  const accountGap = unthrottled ? spacingMs(input.unthrottledPerMinute) / SPACING_MARGIN : spacingMs(input.accountPerMinute);
  return { accountGap, campaignGap: Math.max(accountGap, spacingMs(input.campaignPerMinute)) };
}

/**
 * Plays the queue forward and answers when this campaign's first and last messages go. Without a
 * daily limit the pace is even inside every opening of the windows, so it is played an opening at
 * a time (the cost grows with the openings, not with the queue); a daily limit is played message
 * by message.
 */
export function expectedSchedule(input: ScheduleInput): Schedule | undefined {
  if (input.messages <= 0) return undefined;
  return input.perDay ? playByMessage(input) : playByOpening(input);
}

/** Message by message, exactly as the throttle reserves slots. */
export function playByMessage(input: ScheduleInput): Schedule | undefined {
  if (input.messages <= 0) return undefined;
  const zone = input.windows[0]?.timeZone ?? 'UTC';
  const { accountGap, campaignGap } = gapsOf(input);
  const daily = new DailyLimit(input.perDay, (input.sentInLast24h ?? []).filter((t) => t > input.startAt - DAY_MS));
  const days = new DayCounter(zone);
  let window: Opening | undefined = { open: Number.NEGATIVE_INFINITY, close: Number.NEGATIVE_INFINITY };
  let t = input.startAt;
  let first = 0;
  const total = input.queuedAhead + input.messages;
  for (let i = 0; i < total; i++) {
    const mine = i >= input.queuedAhead;
    if (i > 0) t += mine && i > input.queuedAhead ? campaignGap : accountGap;
    t = daily.earliest(t);
    if (t < window.open || t >= window.close) {
      window = nextSendable(input.windows, t);
      if (!window) return undefined;
    }
    t = Math.max(t, window.open);
    daily.record(t);
    if (!mine) continue;
    if (i === input.queuedAhead) first = t;
    days.add(t);
  }
  return describe(input.now, first, t, days.days, zone);
}

/**
 * An opening at a time: the messages queued ahead at the account's pace, then this campaign's (its
 * first at the account's pace after the last one ahead, the rest at its own), as many in each
 * opening as fit before it closes.
 */
function playByOpening(input: ScheduleInput): Schedule | undefined {
  const zone = input.windows[0]?.timeZone ?? 'UTC';
  const { accountGap, campaignGap } = gapsOf(input);
  const days = new DayCounter(zone);
  let window: Opening | undefined = { open: Number.NEGATIVE_INFINITY, close: Number.NEGATIVE_INFINITY };
  let t = input.startAt;
  let last: number | undefined;
  let first = 0;
  for (const phase of [{ n: input.queuedAhead, gap: accountGap, mine: false }, { n: input.messages, gap: campaignGap, mine: true }]) {
    if (phase.n === 0) continue;
    if (last !== undefined) t = last + accountGap;
    for (let left = phase.n; left > 0; ) {
      if (t < window.open || t >= window.close) {
        window = nextSendable(input.windows, t);
        if (!window) return undefined;
      }
      t = Math.max(t, window.open);
      const fit = window.close === Number.POSITIVE_INFINITY || phase.gap === 0 ? left : Math.ceil((window.close - t) / phase.gap);
      const k = Math.min(left, Math.max(1, fit));
      if (phase.mine && left === phase.n) first = t;
      last = t + (k - 1) * phase.gap;
      if (phase.mine) days.addRange(t, last);
      left -= k;
      t = last + phase.gap;
    }
  }
  return describe(input.now, first, last!, days.days, zone);
}

/** A length of time as a reviewer reads it, rounded up: "1 second", "12 minutes", "2 hours 5 minutes". */
function lengthOf(ms: number): string {
  const unit = (n: number, name: string) => `${n} ${name}${n === 1 ? '' : 's'}`;
  const seconds = Math.max(1, Math.ceil(ms / 1000));
  if (seconds < 60) return unit(seconds, 'second');
  const minutes = Math.ceil(seconds / 60);
  if (minutes < 60) return unit(minutes, 'minute');
  const [hours, rest] = [Math.floor(minutes / 60), minutes % 60];
  return rest === 0 ? unit(hours, 'hour') : `${unit(hours, 'hour')} ${unit(rest, 'minute')}`;
}

function describe(now: number, first: number, last: number, days: number, zone: string): Schedule {
  const finish = DateTime.fromMillis(last, { zone }).setLocale('en-GB');
  const today = finish.hasSame(DateTime.fromMillis(now, { zone }), 'day');
  const day = finish.toFormat('cccc d LLLL');
  const time = finish.toFormat('HH:mm');
  // Within a day of reading, how long until the last message goes; further off, the days it takes
  // (a campaign that goes in one day further off: how long it takes that day).
  const summary =
    last - now < DAY_MS
      ? `${lengthOf(last - now)}, finishing ${today ? '' : `${day} `}${time} (${zone})`
      : days === 1
        ? `${lengthOf(last - first)} on ${day}, finishing ${time} (${zone})`
        : `${days} days, finishing ${day} ${time} (${zone})`;
  return { start: new Date(first).toISOString(), finish: new Date(last).toISOString(), days, timeZone: zone, summary };
}
