import { z } from 'zod';
import addressparser from 'nodemailer/lib/addressparser';
import { templateSyntaxError, type TemplateKind } from '../mail/templates.js';
import { CAMPAIGN_STATUSES } from './statuses.js';

// The public contract of /api/v1/campaigns. Types come from these schemas; the API validates
// with them and the worker reads stored definitions through the same types.

const emailAddress = z
  .string({ error: 'is required and must be a string' })
  .trim()
  .max(320, 'is longer than 320 characters')
  .pipe(z.email({ error: 'is not a valid email address' }));

const displayName = z
  .string()
  .trim()
  .max(200, 'is longer than 200 characters')
  .refine((s) => !/[\r\n]/.test(s), 'must not contain line breaks');

export const mailboxSchema = z.object({
  name: displayName.optional(),
  address: emailAddress,
});
export type Mailbox = z.infer<typeof mailboxSchema>;

/** `"Name <addr>"`, `"addr"` or `{ name, address }`, always stored as `{ name?, address }`. */
export const fromSchema = z.union([
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
    .pipe(mailboxSchema),
  mailboxSchema,
], { error: 'must be "Name <address>" or { "name", "address" }' });

const varsSchema = z.record(z.string(), z.unknown());

export const recipientInputSchema = z.object({
  email: emailAddress,
  name: displayName.optional(),
  vars: varsSchema.optional(),
});
export type RecipientInput = z.infer<typeof recipientInputSchema>;

function template(kind: TemplateKind, max: number) {
  return z
    .string()
    .max(max, `is longer than ${max} characters`)
    .superRefine((source, ctx) => {
      const problem = templateSyntaxError(source, kind);
      if (problem) ctx.addIssue({ code: 'custom', message: `is not a valid template: ${problem}` });
    });
}

export const MAX_INLINE_RECIPIENTS = 50_000;

/** How the campaign must be reviewed. `distinctReviewer`: its creator may not approve it (four eyes). */
export const reviewPolicySchema = z.object({ distinctReviewer: z.boolean().default(false) }).strict();

export const createCampaignSchema = z
  .object({
    name: z.string({ error: 'is required' }).trim().min(1, 'must not be empty').max(200),
    from: fromSchema,
    subject: template('plain', 998)
      .refine((s) => s.trim().length > 0, 'must not be empty')
      .refine((s) => !/[\r\n]/.test(s), 'must not contain line breaks'),
    text: template('plain', 5_000_000).optional(),
    html: template('html', 5_000_000).optional(),
    vars: varsSchema.optional(),
    /** The SMTP account to send through: `default` (SMTP_URL) or one from /api/v1/accounts. */
    account: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'is not an account name').default('default'),
    /** Send no earlier than this (after approval); ISO 8601 with a time zone. */
    startAt: z.iso.datetime({ offset: true, error: 'must be an ISO 8601 date-time with a time zone, like 2026-12-01T09:00:00Z' }).optional(),
    /** Lower limits for this campaign; the account's own limits always hold as well. */
    throttle: z
      .object({
        messagesPerMinute: z.number().positive('must be more than 0').max(100_000).optional(),
      })
      .strict()
      .optional(),
    recipients: z
      .array(recipientInputSchema, { error: 'is required and must be a list of recipients' })
      .min(1, 'must contain at least one recipient')
      .max(MAX_INLINE_RECIPIENTS, `must contain at most ${MAX_INLINE_RECIPIENTS} recipients`),
    review: reviewPolicySchema.optional(),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.text === undefined && c.html === undefined) {
      ctx.addIssue({ code: 'custom', path: ['text'], message: 'either text or html is required' });
    }
  });
export type CreateCampaignInput = z.infer<typeof createCampaignSchema>;

/** What is stored as the campaign's definition: everything but the recipient list. */
export type CampaignDefinition = Omit<CreateCampaignInput, 'recipients' | 'name'>;

export const decisionSchema = z.object({ note: z.string().max(2000).optional() }).strict();

/** Body of pause, resume and cancel. */
export const controlSchema = z.object({ reason: z.string().max(2000).optional() }).strict();
export type DecisionInput = z.infer<typeof decisionSchema>;

export const campaignStatusSchema = z.enum(CAMPAIGN_STATUSES);

export const campaignIdSchema = z.uuid({ error: 'is not a campaign id' });
