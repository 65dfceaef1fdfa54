import { z } from 'zod';
import { sendWindowSchema } from './send-window.js';
import addressparser from 'nodemailer/lib/addressparser';
import { templateSyntaxError, type TemplateKind } from './template-syntax.js';
import { globSyntaxProblem } from './key-patterns.js';
import { CAMPAIGN_STATUSES, SEND_STATUSES } from './statuses.js';
import { ADDRESS_PROBLEMS, EMAIL, EMAIL_MAX, EMAIL_PATTERN } from './address.js';
import { INT4_MAX, MAX_VARS_DEPTH, unsafeInput } from './input.js';

// The public contract of /api/v1/campaigns. Types come from these schemas; the API validates
// with them and the worker reads stored definitions through the same types.

const emailAddress = z
  .string({ error: 'is required and must be a string' })
  .trim()
  .max(EMAIL_MAX, { error: ADDRESS_PROBLEMS.tooLong, abort: true })
  .regex(EMAIL, ADDRESS_PROBLEMS.invalid);

// Patterns for the OpenAPI document only, so that what it calls valid the API accepts: text with
// no Liquid tag opener (`{{`, `{%`: a tag must also be valid, which no pattern can say), and at
// least one letter or digit where the API refuses blank text.
const EMAIL_CORE = EMAIL_PATTERN.slice(1, -1);
const PLAIN = (extra = '') => `(?:[^{${extra}]|\\{[^{%${extra}])`;
const docPatterns = {
  template: `^${PLAIN()}*\\{?$`,
  templateLine: `^${PLAIN('\\r\\n')}*[A-Za-z0-9]${PLAIN('\\r\\n')}*\\{?$`,
  nonBlank: `^${PLAIN()}*[A-Za-z0-9]${PLAIN()}*\\{?$`,
  from: `^(?:[A-Za-z0-9 _-]{0,200}<${EMAIL_CORE}>|${EMAIL_CORE})$`,
  addressList: `^ *(?:${EMAIL_CORE})(?: *[,;] *(?:${EMAIL_CORE})){0,49} *$`,
  line: '^[^\\r\\n]*$',
  nameText: '^[\\s\\S]*[A-Za-z0-9][\\s\\S]*$',
};

const displayName = z
  .string()
  .trim()
  .max(200, 'is longer than 200 characters')
  .refine((s) => !/[\r\n]/.test(s), 'must not contain line breaks')
  .meta({ pattern: docPatterns.line });

const mailboxSchema = z.object({
  name: displayName.optional(),
  address: emailAddress,
});
export type Mailbox = z.infer<typeof mailboxSchema>;

/** `"Name <addr>"`, `"addr"` or `{ name, address }`, always stored as `{ name?, address }`. */
const fromSchema = z.union([
  z
    .string()
    .transform((value, ctx) => {
      const parsed = addressparser(value, { flatten: true });
      const only = parsed.length === 1 ? parsed[0] : undefined;
      if (!only?.address) {
        ctx.addIssue({ code: 'custom', message: 'must be one address, like "Name <name@example.com>"' });
        return z.NEVER;
      }
      const mailbox: { name?: string; address: string } = { address: only.address };
      if (only.name) mailbox.name = only.name;
      return mailbox;
    })
    .pipe(mailboxSchema)
    .meta({ pattern: docPatterns.from }),
  mailboxSchema,
], { error: 'must be "Name <address>" or { "name", "address" }' });

/** Template variables: JSON values, nested at most MAX_VARS_DEPTH containers deep. */
export const varsSchema = z.record(z.string(), z.unknown()).superRefine((vars, ctx) => {
  for (const p of unsafeInput(vars, MAX_VARS_DEPTH + 1)) {
    const message = p.message.startsWith('is nested') ? `is nested more than ${MAX_VARS_DEPTH} levels deep` : p.message;
    ctx.addIssue({ code: 'custom', message, path: p.path.split('.') });
  }
});

/** One address or a list; a CSV cell may hold several separated by commas or semicolons. */
const addressList = z
  .union([
    z.string().meta({ pattern: docPatterns.addressList }),
    z.array(z.string()).meta({ maxItems: 50, items: { type: 'string', maxLength: EMAIL_MAX, pattern: EMAIL_PATTERN } }),
  ])
  .transform((v) => (Array.isArray(v) ? v : v.split(/[,;]/)).map((s) => s.trim()).filter((s) => s !== ''))
  .pipe(z.array(emailAddress).max(50, 'must contain at most 50 addresses'));

export const recipientInputSchema = z.object({
  email: emailAddress,
  name: displayName.optional(),
  cc: addressList.optional(),
  bcc: addressList.optional(),
  vars: varsSchema.optional(),
});
function template(kind: TemplateKind, max: number) {
  return z
    .string()
    .max(max, { error: `is longer than ${max} characters`, abort: true })
    .superRefine((source, ctx) => {
      const problem = templateSyntaxError(source, kind);
      if (problem) ctx.addIssue({ code: 'custom', message: `is not a valid template: ${problem}` });
    })
    .meta({ pattern: docPatterns.template });
}

const MAX_INLINE_RECIPIENTS = 50_000;

/** A recipient list in S3: CSV, a JSON array (or an object with a `recipients` array), or JSON Lines. */
const listFormat = z.enum(['csv', 'json', 'jsonl']);
export type ListFormat = z.infer<typeof listFormat>;

const bucketName = z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'is not a valid S3 bucket name');

/**
 * An attachment read from S3. `key` is a template: with variables it differs per recipient
 * (`statements/{{ customerId }}.pdf`); with a glob (`statements/{{ customerId }}/*.pdf`) every
 * match is attached, and more than `maxMatches` sends the recipient to review. `unique` says the
 * file belongs to one person (a statement, an invoice): if it would go to two addresses, both
 * recipients go to review, since that is the classic mail-merge mistake of the wrong file.
 */
export const attachmentSchema = z
  .object({
    bucket: bucketName,
    key: template('plain', 1024)
      .refine((s) => s.trim().length > 0, 'must not be empty')
      .superRefine((s, ctx) => {
        const problem = globSyntaxProblem(s);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      })
      .meta({ pattern: docPatterns.nonBlank }),
    required: z.boolean().default(true),
    maxMatches: z.number().int().min(1).max(100).default(1),
    unique: z.boolean().default(false),
  })
  .strict();
export type AttachmentSpec = z.infer<typeof attachmentSchema>;

const duration = z
  .string()
  .regex(/^\d+(\.\d+)?\s*(ms|milliseconds?|s|seconds?|m|minutes?|h|hours?|d|days?)$/, 'must be a duration like "7 days" or "12 hours"')
  // The document's pattern: ASCII digits and spaces only (a JSON Schema `\d`/`\s` may mean more).
  .meta({ pattern: '^[0-9]+(\\.[0-9]+)? *(ms|milliseconds?|s|seconds?|m|minutes?|h|hours?|d|days?)$' });

/**
 * How the campaign must be reviewed. `distinctReviewer`: its creator may not approve it (four
 * eyes). `required: false` goes straight to sending; `expiresAfter` ends an unreviewed campaign.
 */
export const reviewPolicySchema = z
  .object({
    distinctReviewer: z.boolean().default(false),
    /** false: the campaign goes straight from building to sending. */
    required: z.boolean().default(true),
    /** How long a campaign may wait for review before it ends `expired`. */
    expiresAfter: duration.default('7 days'),
  })
  .strict();

/**
 * A pilot batch: `size` recipients (or a `share` of the sendable ones, at least 1) are sent first,
 * the first in list order or a seeded random sample; the rest waits in `pilot_sent` for a
 * reviewer's continue. `stopIf.failedShare`: at least that share of the pilot failed or bounced,
 * and continue needs `force`.
 */
export const pilotSchema = z
  .object({
    size: z.number({ error: 'must be a whole number' }).int('must be a whole number').min(1, 'must be at least 1').max(INT4_MAX, `must be at most ${INT4_MAX}`).optional(),
    share: z.number({ error: 'must be a number' }).gt(0, 'must be more than 0').lt(1, 'must be less than 1 (a share, like 0.05)').optional(),
    sample: z.enum(['first', 'random'], { error: 'must be "first" or "random"' }).default('first'),
    /** The random sample's seed: the same seed picks the same recipients (set at creation when left out). */
    seed: z.number({ error: 'must be a whole number' }).int('must be a whole number').min(0, 'must be at least 0').max(INT4_MAX, `must be at most ${INT4_MAX}`).optional(),
    stopIf: z
      .object({
        failedShare: z.number({ error: 'is required and must be a number' }).gt(0, 'must be more than 0').max(1, 'must be at most 1'),
      })
      .strict()
      .optional(),
  })
  .strict()
  .superRefine((p, ctx) => {
    if ((p.size === undefined) === (p.share === undefined)) ctx.addIssue({ code: 'custom', path: ['size'], message: 'give exactly one of size or share' });
    if (p.seed !== undefined && p.sample !== 'random') ctx.addIssue({ code: 'custom', path: ['seed'], message: 'is only for sample "random"' });
  })
  .meta({ oneOf: [{ required: ['size'], properties: { share: false } }, { required: ['share'], properties: { size: false } }] });
export type PilotSpec = z.infer<typeof pilotSchema>;

/** Every field of a campaign; createCampaignSchema and createCampaignRequestSchema add the rules between them. */
const campaignFields = z
  .object({
    name: z.string({ error: 'is required' }).trim().min(1, 'must not be empty').max(200).meta({ pattern: docPatterns.nameText }),
    from: fromSchema,
    subject: template('plain', 998)
      .refine((s) => s.trim().length > 0, 'must not be empty')
      .refine((s) => !/[\r\n]/.test(s), 'must not contain line breaks')
      .meta({ pattern: docPatterns.templateLine }),
    text: template('plain', 5_000_000).optional(),
    html: template('html', 5_000_000).optional(),
    vars: varsSchema.optional(),
    cc: addressList.optional(),
    bcc: addressList.optional(),
    replyTo: emailAddress.optional(),
    attachments: z.array(attachmentSchema).max(20, 'must contain at most 20 attachments').optional(),
    review: reviewPolicySchema.optional(),
    pilot: pilotSchema.optional(),
    /** The SMTP account to send through: `default` (SMTP_URL) or one from /api/v1/accounts. */
    account: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'is not an account name').default('default'),
    /** Send no earlier than this (after approval); ISO 8601 with a time zone. */
    startAt: z.iso.datetime({ offset: true, error: 'must be an ISO 8601 date-time with a time zone, like 2026-12-01T09:00:00Z' }).optional(),
    /**
     * RFC 8058 one-click unsubscribe: every message carries List-Unsubscribe (an HTTPS link under
     * PUBLIC_URL, and `mailto` if given) and List-Unsubscribe-Post (src/unsubscribe).
     */
    listUnsubscribe: z
      .object({ oneClick: z.literal(true, { error: 'must be true' }), mailto: emailAddress.optional() })
      .strict()
      .optional(),
    /** When this campaign may send; the account's window, if it has one, holds as well. */
    sendWindow: sendWindowSchema.optional(),
    /** Lower limits for this campaign; the account's own limits always hold as well. */
    throttle: z
      .object({
        messagesPerMinute: z.number().positive('must be more than 0').max(100_000).optional(),
      })
      .strict()
      .optional(),
    recipients: z
      .array(recipientInputSchema, { error: 'must be a list of recipients' })
      .min(1, 'must contain at least one recipient')
      .max(MAX_INLINE_RECIPIENTS, `must contain at most ${MAX_INLINE_RECIPIENTS} recipients`)
      .optional(),
    recipientsCsv: z.string().min(1, 'must not be empty').max(15_000_000, 'is longer than 15,000,000 characters').optional(),
    recipientsFrom: z
      .object({
        s3: z
          .object({
            bucket: bucketName,
            key: z.string().min(1).max(1024),
            /** Without it: by the key's extension, then the object's Content-Type, then its first byte. */
            format: listFormat.optional(),
          })
          .strict()
          .optional(),
        /** Send again: the recipients of another campaign of the tenant in the chosen send statuses (src/followups). */
        campaign: z.uuid({ error: 'is not a campaign id' }).optional(),
        /** With `campaign`: which of its recipients, by send status (default ["failed"]). */
        sendStatus: z.array(z.enum(SEND_STATUSES)).min(1, 'must name at least one send status').max(SEND_STATUSES.length).optional(),
        /**
         * With `campaign`: `false` keeps only the recipients who have not replied (an automatic
         * answer such as an out-of-office is no reply), `true` only those who replied. Left out: both.
         */
        replied: z.boolean().optional(),
        /**
         * With `campaign`: each message answers the one its recipient got from the original
         * (In-Reply-To and References), so it joins that conversation. Default: true when `replied`
         * is given (a reminder), else false.
         */
        threaded: z.boolean().optional(),
      })
      .strict()
      .superRefine((f, ctx) => {
        if ((f.s3 === undefined) === (f.campaign === undefined)) ctx.addIssue({ code: 'custom', message: 'give exactly one of s3 or campaign' });
        for (const k of ['sendStatus', 'replied', 'threaded'] as const) {
          if (f[k] !== undefined && !f.campaign) ctx.addIssue({ code: 'custom', path: [k], message: 'is only for a campaign source' });
        }
      })
      .meta({
        oneOf: [
          { required: ['s3'], properties: { campaign: false, sendStatus: false, replied: false, threaded: false } },
          { required: ['campaign'], properties: { s3: false } },
        ],
      })
      .optional(),
  })
  .strict();

/** A campaign that resends to another campaign's recipients: it may leave out what it keeps of the original. */
export const isFollowUp = (c: { recipientsFrom?: { campaign?: string } }): boolean => c.recipientsFrom?.campaign !== undefined;

const campaignDocRules = [
  { anyOf: [{ required: ['text'] }, { required: ['html'] }] },
  { oneOf: [{ required: ['recipients'] }, { required: ['recipientsCsv'] }, { required: ['recipientsFrom'] }] },
];

/** Text or html, and exactly one recipient source. */
function campaignRules(c: Partial<z.infer<typeof campaignFields>>, ctx: z.RefinementCtx) {
  if (c.text === undefined && c.html === undefined) {
    ctx.addIssue({ code: 'custom', path: ['text'], message: 'either text or html is required' });
  }
  const sources = (['recipients', 'recipientsCsv', 'recipientsFrom'] as const).filter((k) => c[k] !== undefined);
  if (sources.length === 0) {
    ctx.addIssue({ code: 'custom', path: ['recipients'], message: 'is required: give one of recipients, recipientsCsv or recipientsFrom' });
  } else if (sources.length > 1) {
    ctx.addIssue({ code: 'custom', path: [sources[1]!], message: 'give only one of recipients, recipientsCsv or recipientsFrom' });
  }
}

export const createCampaignSchema = campaignFields
  .superRefine(campaignRules)
  .meta({ allOf: campaignDocRules });
export type CreateCampaignInput = z.infer<typeof createCampaignSchema>;

/**
 * The body of POST /campaigns as a client may send it: a follow-up (`recipientsFrom.campaign`)
 * takes every field it leaves out from the campaign it resends (src/followups/resolve.ts), so only
 * its source is required; any other campaign is checked in full by createCampaignSchema.
 */
export const createCampaignRequestSchema = campaignFields
  .partial({ name: true, from: true, subject: true })
  // Named with the other problems of the body, even when some of those are already found.
  .superRefine(
    (c, ctx) => {
      if (isFollowUp(c)) return;
      for (const field of ['name', 'from', 'subject'] as const) {
        if (c[field] === undefined) ctx.addIssue({ code: 'custom', path: [field], message: 'is required' });
      }
    },
    { when: ({ value }) => typeof value === 'object' && value !== null && !Array.isArray(value) },
  )
  .superRefine((c, ctx) => {
    if (!isFollowUp(c)) campaignRules(c, ctx);
  })
  .meta({
    anyOf: [
      { required: ['recipientsFrom'], properties: { recipientsFrom: { required: ['campaign'] } } },
      { required: ['name', 'from', 'subject'], allOf: campaignDocRules },
    ],
  });

/** What is stored as the campaign's definition: everything but the recipient list. */
export type CampaignDefinition = Omit<CreateCampaignInput, 'recipients' | 'recipientsCsv' | 'recipientsFrom' | 'name'>;

export const recipientDecisionSchema = z.object({ include: z.boolean({ error: 'is required and must be true or false' }) }).strict();

export const testSendSchema = z
  .object({ to: emailAddress, recipientId: z.number().int().min(1).max(INT4_MAX).optional() })
  .strict();

export const suppressionSchema = z.object({ email: emailAddress, reason: z.string().max(500).optional() }).strict();

export const decisionSchema = z.object({ note: z.string().max(2000).optional() }).strict();

/** Body of approve: a note, and optionally the review's fingerprint the approval is bound to. */
export const approveSchema = z
  .object({
    note: z.string().max(2000).optional(),
    fingerprint: z.string().min(1).max(200).optional(),
  })
  .strict();

/** Body of continue (after a pilot): `force` goes on although the pilot's stopIf share was reached. */
export const continueSchema = z
  .object({
    note: z.string().max(2000).optional(),
    force: z.boolean({ error: 'must be true or false' }).optional(),
  })
  .strict();

/** Body of pause, resume and cancel. */
export const controlSchema = z.object({ reason: z.string().max(2000).optional() }).strict();
export const campaignStatusSchema = z.enum(CAMPAIGN_STATUSES);

export const campaignIdSchema = z.uuid({ error: 'is not a campaign id' });
