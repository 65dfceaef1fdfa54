import type { AccountLimitSettings } from '../contract/accounts.js';
import { getAccount } from '../db/accounts.js';
import { LRUCache } from 'lru-cache';
import { remainingOf, sendingCampaigns } from '../db/account-queue.js';
import type { CampaignRow } from '../db/campaigns.js';
import { sendsInLastDay, throttleKey } from '../db/send-slots.js';
import type { Db } from '../db/sql.js';
import { expectedSchedule, type Schedule } from '../schedule/expected.js';
import { windowWait } from '../schedule/send-window.js';
import { PLANNED_STATUSES } from '../contract/statuses.js';

// The expected schedule and the send-window state of a campaign, as GET /campaigns/:id and its
// review answer give them: planned from what the account has queued, at the moment of reading.

/**
 * The pace assumed for an account with no rate limit: what one worker sends end to end on a
 * 2-core machine (about 40 messages a second, `npm run bench -- delivery`).
 */
const UNTHROTTLED_PER_MINUTE = 2400;

export interface ScheduleDeps {
  sql: Db;
  /** The limits of the account SMTP_URL configures, as the workers keep to them. */
  defaultAccountLimits: AccountLimitSettings;
  /** What the other campaigns of an account have left, counted at most every few seconds. */
  queueCounts: QueueCounts;
}

/**
 * How long what another campaign has left to send is reused for the schedules of the campaigns
 * queued behind it. Within that time the count can only be too high (a sending campaign's list
 * only shrinks), so a schedule read in it is at most that many seconds of sending too late.
 */
const QUEUE_COUNT_TTL_MS = 5_000;

/**
 * The queue ahead of a campaign, counted once for every reader: a console polling a campaign
 * every few seconds, or many campaigns queued behind one large one, do not each count every list
 * of the account again. A campaign's own remaining messages are never taken from here.
 */
export class QueueCounts {
  private readonly cache: LRUCache<string, number>;
  /** Statements that counted a list: what the cache saved is visible in tests. */
  counted = 0;

  constructor(ttlMs = QUEUE_COUNT_TTL_MS) {
    this.cache = new LRUCache<string, number>({ max: 10_000, ttl: ttlMs });
  }

  async remaining(sql: Db, campaignIds: readonly string[]): Promise<number> {
    const missing = campaignIds.filter((id) => !this.cache.has(id));
    if (missing.length > 0) {
      this.counted++;
      const fresh = await remainingOf(sql, missing);
      for (const id of missing) this.cache.set(id, fresh.get(id) ?? 0);
    }
    return campaignIds.reduce((n, id) => n + (this.cache.get(id) ?? 0), 0);
  }
}

/**
 * The limits of the account a campaign sends through, as the workers keep to them: the configured
 * `default` account's from the environment, a stored account's from its record.
 */
async function accountLimitsOf(deps: ScheduleDeps, c: CampaignRow): Promise<AccountLimitSettings> {
  if (c.account === 'default') return deps.defaultAccountLimits;
  return (await getAccount(deps.sql, c.tenant, c.account))?.limits ?? {};
}

/** The per-minute rate a campaign is held to: the lower of its own throttle and its account's limit, and whose it is. */
export async function perMinuteLimitOf(deps: ScheduleDeps, c: CampaignRow): Promise<{ messagesPerMinute?: number; from?: 'throttle' | 'account' }> {
  const throttle = c.definition.throttle?.messagesPerMinute;
  const account = (await accountLimitsOf(deps, c)).messagesPerMinute;
  if (throttle !== undefined && (account === undefined || throttle <= account)) return { messagesPerMinute: throttle, from: 'throttle' };
  return account !== undefined ? { messagesPerMinute: account, from: 'account' } : {};
}

/** When the rest of the campaign should go, if it is still to send. */
export async function campaignSchedule(deps: ScheduleDeps, c: CampaignRow, known?: { remaining: number }): Promise<Schedule | undefined> {
  if (!PLANNED_STATUSES.includes(c.status)) return undefined;
  const limits = await accountLimitsOf(deps, c);
  // `known`: the caller counted this campaign's remaining messages already.
  const remaining = known?.remaining ?? (await remainingOf(deps.sql, [c.id])).get(c.id) ?? 0;
  if (remaining === 0) return undefined;
  // Ahead of it: what is sending now and was approved before it (all of it, while it awaits review).
  const decided = c.decidedAt?.getTime() ?? Number.POSITIVE_INFINITY;
  const ahead = (await sendingCampaigns(deps.sql, c.tenant, c.account))
    .filter((q) => q.id !== c.id && (q.decidedAt?.getTime() ?? 0) < decided)
    .map((q) => q.id);
  const queuedAhead = await deps.queueCounts.remaining(deps.sql, ahead);
  const sent = limits.messagesPerDay ? await sendsInLastDay(deps.sql, throttleKey(c.tenant, c.account), limits.messagesPerDay) : [];
  const now = Date.now();
  const startAt = Math.max(now, c.definition.startAt ? Date.parse(c.definition.startAt) : 0);
  return expectedSchedule({
    messages: remaining,
    queuedAhead,
    now,
    startAt,
    accountPerMinute: limits.messagesPerMinute,
    campaignPerMinute: c.definition.throttle?.messagesPerMinute,
    perDay: limits.messagesPerDay,
    sentInLast24h: sent.map((d) => d.getTime()),
    windows: [limits.sendWindow, c.definition.sendWindow].filter((w) => w !== undefined),
    unthrottledPerMinute: UNTHROTTLED_PER_MINUTE,
  });
}

/** While sending: why nothing goes right now, when the send windows are closed. */
export async function windowReason(deps: ScheduleDeps, c: CampaignRow): Promise<string | undefined> {
  if (c.status !== 'sending') return undefined;
  const limits = await accountLimitsOf(deps, c);
  return windowWait([limits.sendWindow, c.definition.sendWindow], Date.now())?.reason;
}
