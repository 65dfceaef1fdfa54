import { DateTime } from 'luxon';
import type { SendWindow, Weekday } from '../contract/send-window.js';
import { WEEKDAYS } from '../contract/send-window.js';

// Where a send window stands at an instant. Pure and deterministic (instants in epoch ms; the time
// zone rules come from the runtime's Intl data), so workflow code may use it as well.

/** One opening of a window: [open, close) in epoch ms. */
export interface Opening {
  open: number;
  close: number;
}

const minutesOf = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

/** Local time `minutes` after the start of `day` (24:00 is the next midnight); a time a DST gap skips moves forward. */
const atMinute = (day: DateTime, minutes: number) =>
  minutes === 24 * 60 ? day.plus({ days: 1 }).startOf('day') : day.set({ hour: Math.floor(minutes / 60), minute: minutes % 60 });

/** The opening of `w` that starts on the local day `day`. */
function openingOn(w: SendWindow, day: DateTime): Opening {
  const from = minutesOf(w.from);
  const to = minutesOf(w.to);
  return { open: atMinute(day, from).toMillis(), close: atMinute(to > from ? day : day.plus({ days: 1 }), to).toMillis() };
}

/** The first opening of `w` that has not closed at `t` (it may already be open). */
function currentOrNextOpening(w: SendWindow, t: number): Opening {
  const days = new Set<Weekday>(w.days);
  // Starting a day early catches an opening from yesterday that runs past midnight.
  let day = DateTime.fromMillis(t, { zone: w.timeZone }).startOf('day').minus({ days: 1 });
  for (let i = 0; i < 9; i++, day = day.plus({ days: 1 }).startOf('day')) {
    if (!days.has(WEEKDAYS[day.weekday - 1]!)) continue;
    const opening = openingOn(w, day);
    if (opening.close > t) return opening;
  }
  throw new Error(`send window ${JSON.stringify(w)} never opens`); // unreachable: `days` is never empty
}

/**
 * The first instant at or after `t` when every window is open, and when the first of them closes
 * again. With no windows it is `t`, open for good. Undefined when the windows never overlap
 * within a fortnight (say, an account open on weekdays and a campaign on Sundays).
 */
export function nextSendable(windows: readonly SendWindow[], t: number): Opening | undefined {
  if (windows.length === 0) return { open: t, close: Number.POSITIVE_INFINITY };
  const giveUpAt = t + 15 * 24 * 3600_000;
  let at = t;
  while (at < giveUpAt) {
    const openings = windows.map((w) => currentOrNextOpening(w, at));
    const open = Math.max(at, ...openings.map((o) => o.open));
    const close = Math.min(...openings.map((o) => o.close));
    if (open < close) return { open, close };
    at = open;
  }
  return undefined;
}

/** Whether a message may go at `t`. */
export const isOpen = (windows: readonly SendWindow[], t: number) => nextSendable(windows, t)?.open === t;

/**
 * The opening as a person reads it, in the time zone of the window that opens last (the one the
 * wait is for): `send window opens Mon 08:00 Europe/Berlin`.
 */
function opensLabel(windows: readonly SendWindow[], open: number): string {
  const w = windows.find((x) => currentOrNextOpening(x, open).open === open) ?? windows[0]!;
  const local = DateTime.fromMillis(open, { zone: w.timeZone, locale: 'en' });
  return `send window opens ${local.toFormat('ccc HH:mm')} ${w.timeZone}`;
}

/**
 * Why a message may not go at `t`, and until when; undefined when every window is open. `opens`
 * names the opening for a person (the Temporal UI shows it on the timer that waits for it).
 */
export function windowWait(windows: readonly (SendWindow | undefined)[], t: number): { until: number; reason: string; opens: string } | undefined {
  const set = windows.filter((w): w is SendWindow => w !== undefined);
  const next = nextSendable(set, t);
  if (next?.open === t) return undefined;
  // Windows that never meet are refused when a campaign is created; an account changed since waits an hour at a time.
  if (!next) return { until: t + 3600_000, reason: "the account's and the campaign's send windows never overlap", opens: 'send windows never overlap: look again in an hour' };
  return { until: next.open, reason: `outside the send window until ${new Date(next.open).toISOString()}`, opens: opensLabel(set, next.open) };
}
