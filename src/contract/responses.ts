import { z } from 'zod';
import { KEY_SCOPES } from './keys.js';
import { ANSWER_KINDS, BUILD_STATUSES, CAMPAIGN_STATUSES, COPY_STATUSES, SEND_STATUSES } from './statuses.js';

// What the API answers, for the OpenAPI document and for tests that hold the answers to it.
// Dates travel as ISO 8601 strings.

const date = z.iso.datetime();
const campaignStatus = z.enum(CAMPAIGN_STATUSES);
const page = <T extends z.ZodType>(item: T) => z.object({ items: z.array(item), nextCursor: z.string().optional() });

export const campaignCreatedResponse = z.object({
  id: z.uuid(),
  status: campaignStatus,
  workflowId: z.string(),
  temporalUrl: z.url().optional(),
});

/** The calling key, as the console shows it. */
export const meResponse = z.object({ tenant: z.string(), principal: z.string(), person: z.string(), scopes: z.array(z.string()) });

export const transitionResponse = z.object({ status: campaignStatus });

/**
 * A transition the campaign accepted and is still applying when the API stops waiting: `status` is
 * what the record read at the answer, `pending` the action under way, `requestId` its Update's id.
 */
export const transitionUnderWayResponse = z.object({
  status: campaignStatus,
  pending: z.enum(['approve', 'reject', 'continue', 'pause', 'resume', 'cancel']),
  requestId: z.uuid(),
  message: z.string(),
});

const counts = <T extends readonly string[]>(all: T) => z.object(Object.fromEntries(all.map((s) => [s, z.number().int()])) as Record<T[number], z.ZodNumber>);

const scheduleResponse = z.object({
  start: date,
  finish: date,
  /** Calendar days (in the send window's time zone, else UTC) on which messages go. */
  days: z.number().int(),
  timeZone: z.string(),
  /** In words: "6 days, finishing Tuesday 8 December 09:07 (Europe/Berlin)". */
  summary: z.string(),
});

export const campaignResponse = z.object({
  id: z.uuid(),
  name: z.string(),
  status: campaignStatus,
  /** Only while paused: the status beneath the pause. At pilot_sent a continue or a reject is still taken (ACTION_STATUSES). */
  pausedIn: campaignStatus.optional(),
  reason: z.string().optional(),
  counts: z.object({ total: z.number(), pending: z.number(), sent: z.number(), failed: z.number(), appended: z.number() }),
  countsByStatus: z.object({ build: counts(BUILD_STATUSES), send: counts(SEND_STATUSES), copy: counts(COPY_STATUSES) }),
  /** Recipients whose message was answered, found in the account's INBOX: by a person, or only automatically (an out-of-office). */
  replies: z.object({ replied: z.number().int(), autoReplied: z.number().int() }),
  error: z.string().optional(),
  account: z.object({
    name: z.string(),
    slowedDownUntil: date.optional(),
    slowDownReason: z.string().nullable().optional(),
    /** A quota or authentication refusal holds the account for every campaign until one is resumed. */
    heldSince: date.optional(),
    holdReason: z.string().optional(),
  }),
  /** While building: list entries read so far, the share of the list read, and when it should be done. */
  build: z.object({ read: z.number().int(), percent: z.number().optional(), eta: date.optional() }).optional(),
  /** While sending: when the rest should be sent, at the rate of the last minutes or the limit. */
  eta: z.object({ at: date, perMinute: z.number(), basis: z.enum(['observed', 'limit']) }).optional(),
  /** Until the last message is sent: when the first and last of what is left should go, after the account's queue, limits and send windows. */
  schedule: scheduleResponse.optional(),
  review: z.object({ by: z.string().nullable(), note: z.string().optional(), at: date }).optional(),
  reviewPolicy: z.object({ distinctReviewer: z.boolean() }),
  /** A campaign with a pilot batch: its settings and, once chosen, how it went (bounces count as they come in). */
  pilot: z
    .object({
      size: z.number().int().optional(),
      share: z.number().optional(),
      sample: z.enum(['first', 'random']),
      /** A random sample's seed, given or set at creation: the same seed picks the same recipients. */
      seed: z.number().int().optional(),
      stopIf: z.object({ failedShare: z.number() }).optional(),
      /** Recipients in the pilot batch (0 until it is chosen, after approval). */
      chosen: z.number().int(),
      sent: z.number().int(),
      failed: z.number().int(),
      bounced: z.number().int(),
      pending: z.number().int(),
      /** Set when at least the stopIf share failed or bounced (bounces included as they arrive): continue needs `force`. */
      stopped: z.string().optional(),
      /** The pilot's failures and bounces with the SMTP reply (the first 100). */
      failures: z.array(
        z.object({ id: z.number().int(), email: z.string(), sendStatus: z.enum(SEND_STATUSES), smtpResponse: z.string().optional(), error: z.string().optional() }),
      ),
    })
    .optional(),
  tenant: z.string(),
  createdBy: z.string().optional(),
  workflowId: z.string(),
  temporalUrl: z.url().optional(),
  createdAt: date,
  updatedAt: date,
  /** A follow-up: the campaign it sends again to (recipientsFrom.campaign). */
  followUpOf: z.uuid().optional(),
  /** The follow-ups that send this campaign again, oldest first. */
  followUps: z.array(z.object({ id: z.uuid(), name: z.string(), status: campaignStatus, createdAt: date })).optional(),
});

export const campaignListResponse = page(
  z.object({
    id: z.uuid(),
    name: z.string(),
    status: campaignStatus,
    error: z.string().optional(),
    /** The progress, and what was done without being sent (skipped, cancelled, bounced), so "done" adds up. */
    counts: z
      .object({
        total: z.number().int(),
        pending: z.number().int(),
        sent: z.number().int(),
        failed: z.number().int(),
        skipped: z.number().int(),
        cancelled: z.number().int(),
        bounced: z.number().int(),
        appended: z.number().int(),
      })
      .optional(),
    createdBy: z.string().optional(),
    workflowId: z.string(),
    temporalUrl: z.url().optional(),
    createdAt: date,
    updatedAt: date,
  }),
);

export const recipientListResponse = page(
  z.object({
    id: z.number().int(),
    email: z.string(),
    name: z.string().optional(),
    buildStatus: z.enum(BUILD_STATUSES),
    buildReasons: z.array(z.string()),
    sendStatus: z.enum(SEND_STATUSES),
    copyStatus: z.enum(COPY_STATUSES),
    /** One of the pilot batch, sent before the rest. */
    pilot: z.literal(true).optional(),
    messageId: z.string().optional(),
    smtpResponse: z.string().optional(),
    error: z.string().optional(),
    sentAt: date.optional(),
    appendedAt: date.optional(),
    /** An answer found in the account's INBOX: a person's (`replied`) or an automatic one (`auto_replied`), when it was found, its Message-ID. */
    reply: z.object({ kind: z.enum(ANSWER_KINDS), at: date, messageId: z.string().optional() }).optional(),
    updatedAt: date,
  }),
);

export const keyResponse = z.object({
  id: z.uuid(),
  tenant: z.string(),
  name: z.string(),
  principal: z.string(),
  prefix: z.string(),
  scopes: z.array(z.enum(KEY_SCOPES)),
  createdBy: z.string(),
  /** The person the key acts for: four eyes compares people. */
  person: z.string(),
  createdAt: date,
  revokedAt: date.optional(),
});
export const keyCreatedResponse = keyResponse.extend({ key: z.string().describe('the key itself, shown only in this answer') });
export const keyListResponse = z.object({ items: z.array(keyResponse) });

export const auditListResponse = page(
  z.object({
    id: z.string(),
    at: date,
    principal: z.string(),
    action: z.string(),
    campaignId: z.uuid().optional(),
    subject: z.string().optional(),
    details: z.record(z.string(), z.unknown()),
  }),
);

export const suppressionResponse = z.object({ email: z.string(), reason: z.string().optional(), createdAt: date });
export const suppressionListResponse = page(suppressionResponse);

/** The review page: counts per build status, and the recipients that need a decision or are blocked. */
export const reviewResponse = page(
  z.object({
    id: z.number().int(),
    email: z.string(),
    name: z.string().optional(),
    buildStatus: z.enum(BUILD_STATUSES),
    reasons: z.array(z.string()),
    included: z.boolean().nullable().optional(),
  }),
).extend({
  status: campaignStatus,
  counts: counts(BUILD_STATUSES),
  undecided: z.number().int(),
  /** How many recipients an approval now would send to: `ready`, `warning`, and the `needs_review` ones included. */
  sendable: z.number().int(),
  /** On the first page only: send it back with the approval. */
  fingerprint: z.string().optional(),
  /** On the first page, while awaiting review: when the messages would go if approved now. */
  schedule: scheduleResponse.optional(),
});

export const recipientDecisionResponse = z.object({ id: z.number().int(), buildStatus: z.enum(BUILD_STATUSES), included: z.boolean() });

const mailbox = z.object({ address: z.string(), name: z.string().optional() });
export const previewResponse = z.object({
  messageId: z.string(),
  date,
  from: mailbox,
  to: mailbox,
  cc: z.array(z.string()),
  bcc: z.array(z.string()),
  replyTo: z.string().optional(),
  /** A threaded follow-up: the Message-ID it answers (In-Reply-To and References). */
  inReplyTo: z.string().optional(),
  subject: z.string(),
  /** List-Unsubscribe and List-Unsubscribe-Post of a campaign with `listUnsubscribe`, as sent. */
  headers: z.array(z.object({ key: z.string(), value: z.string() })).optional(),
  text: z.string().optional(),
  html: z.string().optional(),
  attachments: z.array(z.object({ filename: z.string(), size: z.number().int() })),
  size: z.number().int(),
  buildStatus: z.enum(BUILD_STATUSES),
  reasons: z.array(z.string()),
});

export const testSendResponse = z.object({ to: z.string(), recipientId: z.number().int(), messageId: z.string(), response: z.string().optional() });

/** Messages sent per minute (oldest first) and the campaign's known per-minute limit, for the console's chart. */
export const sentPerMinuteResponse = z.object({
  minutes: z.array(z.object({ at: date, sent: z.number().int() })),
  limit: z.object({ messagesPerMinute: z.number().optional(), from: z.enum(['throttle', 'account']).optional() }),
});
