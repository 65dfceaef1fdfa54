import { accountHold, holdKey, reserveSlot, startUnderMinuteLimits, throttleKey, type RateLimit, type ReservedSlot } from '../db/send-slots.js';
import type { Sql } from '../db/sql.js';
import type { AccountLimitSettings } from '../contract/accounts.js';
import type { SendWindow } from '../contract/send-window.js';
import { windowWait } from '../schedule/send-window.js';
import { waitUntil } from './heartbeat.js';

// What every message through an account passes, a campaign's or a test send: the account's hold,
// a slot under its limits, and right before SMTP the per-minute window.

export type AccountGate =
  /** `slot`: the reservation, to give back if the message is not sent after all. */
  | { go: true; at: Date; slot: ReservedSlot }
  | { go: false; held: string }
  /** `by` the send windows (closed now or at the slot's time; `opens` names the opening) or the rate limits. */
  | { go: false; retryAt: Date; reason: string; by: 'window'; opens: string }
  | { go: false; retryAt: Date; reason: string; by: 'limit' };

/** The account's limits (shared by every campaign on it), and a campaign's own lower rate when it has one. */
export function rateLimits(tenant: string, account: string, limits: AccountLimitSettings, campaign?: { id: string; perMinute?: number }): RateLimit[] {
  return [
    { key: throttleKey(tenant, account), perMinute: limits.messagesPerMinute, perDay: limits.messagesPerDay },
    ...(campaign ? [{ key: `campaign:${campaign.id}`, perMinute: campaign.perMinute }] : []),
  ];
}

export interface GateRequest {
  tenant: string;
  account: string;
  limits: RateLimit[];
  /** The send windows the message must go in (a test send has none). */
  windows: readonly (SendWindow | undefined)[];
  /** A slot further off than this is not waited for in the activity. */
  maxWaitMs: number;
  /** The account's hold as the caller read it a moment ago (null: not held); read here when absent. */
  hold?: { since: Date; reason: string } | null;
}

/**
 * Refused while the account is held (a quota or authentication refusal, for its tenant); else,
 * inside the send windows, a slot under every limit (the limits hold across every worker and
 * campaign), or when to ask again: the next opening, or the next slot if it is further off than
 * `maxWaitMs`.
 */
export async function passAccountGate(sql: Sql, g: GateRequest): Promise<AccountGate> {
  const hold = g.hold === undefined ? await accountHold(sql, holdKey(g.tenant, g.account)) : g.hold;
  if (hold) return { go: false, held: `account ${g.account} is on hold since ${hold.since.toISOString()}: ${hold.reason}` };
  const closed = windowWait(g.windows, Date.now());
  if (closed) return { go: false, retryAt: new Date(closed.until), reason: closed.reason, by: 'window', opens: closed.opens };
  const slot = await reserveSlot(sql, g.limits, g.maxWaitMs);
  if (slot.kind === 'later') return { go: false, retryAt: slot.retryAt, reason: slot.reason, by: 'limit' };
  const closedBySlot = windowWait(g.windows, slot.at.getTime());
  if (closedBySlot) return { go: false, retryAt: new Date(closedBySlot.until), reason: closedBySlot.reason, by: 'window', opens: closedBySlot.opens };
  return { go: true, at: slot.at, slot };
}

/**
 * Right before an SMTP transaction: waits (heartbeating) until every per-minute limit has room in
 * its window and records the start, or answers when there will be room if that is further off than
 * `maxWaitMs` (the caller then answers `throttled` and tries later). `check` runs about every
 * second of the wait; what it throws ends the wait.
 */
export async function startWhenMinuteAllows(sql: Sql, limits: RateLimit[], maxWaitMs: number, check?: () => Promise<void>): Promise<Date | undefined> {
  const giveUpAt = Date.now() + maxWaitMs;
  for (;;) {
    const roomAt = await startUnderMinuteLimits(sql, limits);
    if (!roomAt) return undefined;
    if (roomAt.getTime() > giveUpAt) return roomAt;
    await waitUntil(roomAt, check);
  }
}
