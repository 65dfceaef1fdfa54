import { MINUTE_WINDOW_MS, spacingMs } from '../schedule/spacing.js';
import type { Db, Sql } from './sql.js';

export interface RateLimit {
  /** `account:<name>` or `campaign:<id>`: whose schedule this is. */
  key: string;
  perMinute?: number;
  perDay?: number;
}

/** The schedule key of an account: the configured `default` one is shared by every tenant. */
export const throttleKey = (tenant: string, account: string) => (account === 'default' ? 'account:default' : `account:${tenant}/${account}`);

/**
 * Whose hold an account's is: a quota or authentication refusal holds the account for its tenant.
 * The configured `default` account is shared by every tenant's campaigns, so each tenant has its
 * own hold (and reason) on it: one tenant's refusal neither pauses, shows its SMTP reply to, nor
 * can be lifted by another. Its rate limits stay shared (the provider counts per account).
 */
export const holdKey = (tenant: string, account: string) => (account === 'default' && tenant === 'default' ? 'account:default' : `account:${tenant}/${account}`);

/**
 * A slot as reserved: its time (never before the reservation), and for each limit the schedule's
 * time it took (`from`: up to the catch-up before the reservation) and what it moved on to.
 */
export interface ReservedSlot {
  at: Date;
  taken: { key: string; from: Date; nextAt: Date; perDay: boolean }[];
}

export type Reservation = ({ kind: 'slot' } & ReservedSlot) | { kind: 'later'; retryAt: Date; reason: string };

/** While an account is slowed down after a 421 / 4.7.x reply, its spacing is this much wider. */
const SLOW_FACTOR = 4;
const SLOW_FOR = '5 minutes';

/**
 * Slots of a per-minute schedule that nobody reserved in their time (the send pipeline stalled
 * longer than its sends had reserved ahead: a loaded worker, a slow database or Temporal server)
 * may still be taken, back to this many whole spacings before now: a short stall is made up by a
 * short burst instead of being lost for good. Only as many spacings as fit in CATCH_UP_MAX_MS and
 * fewer than perMinute (a burst stays under a minute's limit), so none at a rate whose spacing is
 * longer than that (a stall there costs less than a slot); none while the account is slowed down,
 * and none for a schedule unused for a minute (an idle account starts at the pace, as a fresh one
 * does). Slots stay a spacing apart; the per-minute window (startUnderMinuteLimits) still holds every start.
 */
export const CATCH_UP_SLOTS = 5;
export const CATCH_UP_MAX_MS = 10_000;

/** How far before now a limit's schedule, `behindMs` behind, may be taken up again (0: not at all). */
function catchUpMs(perMinute: number | undefined, gap: number, slowed: boolean, behindMs: number): number {
  if (!perMinute || slowed || behindMs >= MINUTE_WINDOW_MS) return 0;
  return Math.max(0, Math.min(CATCH_UP_SLOTS, perMinute - 1, Math.floor(CATCH_UP_MAX_MS / gap))) * gap;
}

/**
 * Reserves the next send slot under every limit at once, in one transaction that locks the
 * limits' rows: the limits hold across all workers and campaigns sharing them. A slot further
 * away than `maxWaitMs` is not reserved; the caller waits durably and asks again. A schedule
 * left behind (its next slot passed unreserved) is taken up from at most its catch-up before now
 * (`catchUpMs`): the message goes at once and the schedule moves on one spacing from there.
 */
export async function reserveSlot(sql: Sql, limits: RateLimit[], maxWaitMs: number): Promise<Reservation> {
  const active = limits.filter((l) => l.perMinute || l.perDay).sort((a, b) => a.key.localeCompare(b.key));
  if (active.length === 0) return { kind: 'slot', at: new Date(), taken: [] };
  return sql.begin(async (tx) => {
    const [{ now }] = (await tx`SELECT clock_timestamp() AS now`) as unknown as [{ now: Date }];
    // `at`: the schedules' time for this slot (it may lie up to a catch-up before now); the
    // message goes, and the rolling day counts it, at `at` or now, whichever is later.
    let at = -Infinity;
    const spacing = new Map<string, number>();
    for (const l of active) {
      await tx`INSERT INTO send_slots (key) VALUES (${l.key}) ON CONFLICT (key) DO NOTHING`;
      const [row] = await tx<{ nextAt: Date; slowUntil: Date | null }[]>`
        SELECT next_at, slow_until FROM send_slots WHERE key = ${l.key} FOR UPDATE`;
      const slowed = Boolean(row!.slowUntil && row!.slowUntil.getTime() > now.getTime());
      const gap = spacingMs(l.perMinute) * (slowed ? SLOW_FACTOR : 1);
      spacing.set(l.key, gap);
      const nextAt = row!.nextAt.getTime();
      at = Math.max(at, nextAt, now.getTime() - catchUpMs(l.perMinute, gap, slowed, now.getTime() - nextAt));
      if (l.perDay) {
        const [day] = await tx<{ n: number; oldest: Date | null }[]>`
          SELECT count(*)::int AS n, min(at) AS oldest FROM send_slot_log
          WHERE key = ${l.key} AND at > ${new Date(Math.max(at, now.getTime()))}::timestamptz - interval '24 hours'`;
        if (day!.n >= l.perDay && day!.oldest) {
          return { kind: 'later', retryAt: new Date(day!.oldest.getTime() + 24 * 3600_000 + 1000), reason: `daily limit of ${l.perDay} reached` } as Reservation;
        }
      }
    }
    if (at - now.getTime() > maxWaitMs) return { kind: 'later', retryAt: new Date(at), reason: 'rate limit' } as Reservation;
    const goAt = new Date(Math.max(at, now.getTime()));
    const taken = active.map((l) => ({ key: l.key, from: new Date(at), nextAt: new Date(at + spacing.get(l.key)!), perDay: Boolean(l.perDay) }));
    for (const t of taken) {
      await tx`UPDATE send_slots SET next_at = ${t.nextAt} WHERE key = ${t.key}`;
      if (t.perDay) await tx`INSERT INTO send_slot_log (key, at) VALUES (${t.key}, ${goAt})`;
    }
    return { kind: 'slot', at: goAt, taken } as Reservation;
  });
}

/**
 * Gives back a slot no message used (its send stopped while it waited: the campaign was paused or
 * cancelled, or the minute had no room): the daily count forgets it, and on each limit whose
 * schedule has not moved past it since, the next reservation takes its time. Where a later slot
 * was reserved meanwhile, that one keeps its place and the gap stays (wider spacing, never narrower).
 */
export async function releaseSlot(sql: Sql, slot: ReservedSlot): Promise<void> {
  if (slot.taken.length === 0) return;
  await sql.begin(async (tx) => {
    for (const t of slot.taken) {
      await tx`UPDATE send_slots SET next_at = ${t.from} WHERE key = ${t.key} AND next_at = ${t.nextAt}`;
      if (t.perDay) {
        await tx`
          DELETE FROM send_slot_log WHERE ctid = (SELECT ctid FROM send_slot_log WHERE key = ${t.key} AND at = ${slot.at} LIMIT 1)`;
      }
    }
  });
}

/**
 * The per-minute limits as a provider counts them: at most `perMinute` SMTP transactions start in
 * any window of a minute (and the spacing margin), whatever delayed this message after its slot (a
 * slow render, a wait for a connection, a loaded machine). Called right before the transaction:
 * records its start when every limit has room and answers undefined, else answers when there will
 * be room. The slots keep the pace; this only bites when the pace slipped.
 */
export async function startUnderMinuteLimits(sql: Sql, limits: RateLimit[]): Promise<Date | undefined> {
  const active = limits.filter((l) => l.perMinute).sort((a, b) => a.key.localeCompare(b.key));
  if (active.length === 0) return undefined;
  const keys = active.map((l) => l.key);
  return sql.begin(async (tx) => {
    // The limits' rows serialise every worker's starts on them (locked in key order, as slots are).
    await tx`
      INSERT INTO send_slots (key) SELECT k FROM unnest(${keys}::text[]) k ORDER BY k
      ON CONFLICT (key) DO UPDATE SET key = EXCLUDED.key`;
    // A statement after the lock sees every start committed before it: for each limit, its
    // perMinute-th latest start in the window (if there are that many) says when there is room.
    const rows = await tx<{ now: Date; full: Date | null }[]>`
      SELECT clock_timestamp() AS now, (
        SELECT at FROM send_starts s WHERE s.key = l.key AND at > clock_timestamp() - ${MINUTE_WINDOW_MS} * interval '1 millisecond'
        ORDER BY at DESC OFFSET l.per_minute - 1 LIMIT 1) AS full
      FROM unnest(${keys}::text[], ${active.map((l) => l.perMinute!)}::int[]) AS l(key, per_minute)`;
    const now = Math.max(...rows.map((r) => r.now.getTime()));
    const roomAt = Math.max(0, ...rows.map((r) => (r.full ? r.full.getTime() + MINUTE_WINDOW_MS : 0)));
    if (roomAt > now) return new Date(roomAt);
    await tx`
      WITH gone AS (DELETE FROM send_starts WHERE key = ANY(${keys}::text[]) AND at <= ${new Date(now - MINUTE_WINDOW_MS)})
      INSERT INTO send_starts (key, at) SELECT k, ${new Date(now)}::timestamptz FROM unnest(${keys}::text[]) k`;
    return undefined;
  });
}

/** After a 421 or a throttling 4.7.x reply: send more slowly on this account for a while. */
export async function slowDown(sql: Sql, key: string, reason: string): Promise<void> {
  await sql`
    INSERT INTO send_slots (key, slow_until, slow_reason) VALUES (${key}, now() + ${SLOW_FOR}::interval, ${reason})
    ON CONFLICT (key) DO UPDATE SET slow_until = EXCLUDED.slow_until, slow_reason = EXCLUDED.slow_reason`;
}

export async function slowedUntil(sql: Sql, key: string): Promise<{ until: Date; reason: string | null } | undefined> {
  const [row] = await sql<{ slowUntil: Date; slowReason: string | null }[]>`
    SELECT slow_until, slow_reason FROM send_slots WHERE key = ${key} AND slow_until > now()`;
  return row ? { until: row.slowUntil, reason: row.slowReason } : undefined;
}

/** Holds the account: every send through it, in any campaign, stops before SMTP until released. */
export async function holdAccount(sql: Db, key: string, reason: string): Promise<void> {
  await sql`
    INSERT INTO send_slots (key, held_since, held_reason) VALUES (${key}, now(), ${reason})
    ON CONFLICT (key) DO UPDATE SET held_since = COALESCE(send_slots.held_since, now()), held_reason = EXCLUDED.held_reason`;
}

export async function accountHold(sql: Db, key: string): Promise<{ since: Date; reason: string } | undefined> {
  const [row] = await sql<{ heldSince: Date; heldReason: string }[]>`
    SELECT held_since, held_reason FROM send_slots WHERE key = ${key} AND held_since IS NOT NULL`;
  return row ? { since: row.heldSince, reason: row.heldReason } : undefined;
}

export async function releaseAccount(sql: Db, key: string): Promise<void> {
  await sql`UPDATE send_slots SET held_since = NULL, held_reason = NULL WHERE key = ${key}`;
}

/** When the account sent its last `limit` messages of the last 24 hours (its daily limit's memory), oldest first. */
export async function sendsInLastDay(sql: Db, key: string, limit: number): Promise<Date[]> {
  const rows = await sql<{ at: Date }[]>`
    SELECT at FROM (
      SELECT at FROM send_slot_log WHERE key = ${key} AND at > now() - interval '24 hours' ORDER BY at DESC LIMIT ${limit}
    ) recent ORDER BY at`;
  return rows.map((r) => r.at);
}
