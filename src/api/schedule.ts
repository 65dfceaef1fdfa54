import type { AccountLimitSettings } from '../contract/accounts.js';
import { getAccount } from '../db/accounts.js';
import { accountQueue } from '../db/account-queue.js';
import type { CampaignRow } from '../db/campaigns.js';
import { sendsInLastDay, throttleKey } from '../db/send-slots.js';
import type { Db } from '../db/sql.js';
import { expectedSchedule, type Schedule } from '../schedule/expected.js';
import { windowWait } from '../schedule/send-window.js';

// The expected schedule and the send-window state of a campaign, as GET /campaigns/:id and its
// review answer give them: planned from what the account has queued, at the moment of reading.

/**
 * The pace assumed for an account with no rate limit: what one worker sends end to end on a
 * 2-core machine (about 40 messages a second, `npm run bench -- delivery`).
 */
const UNTHROTTLED_PER_MINUTE = 2400;
const PLANNED: readonly string[] = ['awaiting_review', 'scheduled', 'sending', 'paused'];

export interface ScheduleDeps {
  sql: Db;
  /** The limits of the account SMTP_URL configures, as the workers keep to them. */
  defaultAccountLimits: AccountLimitSettings;
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
  if (!PLANNED.includes(c.status)) return undefined;
  const limits = await accountLimitsOf(deps, c);
  // `known`: the caller counted this campaign's remaining messages already; only the others are counted here.
  const queue = await accountQueue(deps.sql, c.tenant, c.account, known ? c.id : undefined);
  const mine = known ? { remaining: known.remaining } : queue.find((q) => q.id === c.id);
  if (!mine || mine.remaining === 0) return undefined;
  // Ahead of it: what is sending now and was approved before it (all of it, while it awaits review).
  const decided = c.decidedAt?.getTime() ?? Number.POSITIVE_INFINITY;
  const queuedAhead = queue
    .filter((q) => q.id !== c.id && q.status === 'sending' && (q.decidedAt?.getTime() ?? 0) < decided)
    .reduce((n, q) => n + q.remaining, 0);
  const sent = limits.messagesPerDay ? await sendsInLastDay(deps.sql, throttleKey(c.tenant, c.account), limits.messagesPerDay) : [];
  const startAt = Math.max(Date.now(), c.definition.startAt ? Date.parse(c.definition.startAt) : 0);
  return expectedSchedule({
    messages: mine.remaining,
    queuedAhead,
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
