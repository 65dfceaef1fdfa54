import { z } from 'zod';
import { createOAuth2Schema, oauth2Response, updateOAuth2Schema } from './oauth2.js';
import { sendWindowSchema } from './send-window.js';

// The public contract of /api/v1/accounts. Passwords go in, never out.

const security = z.enum(['tls', 'starttls', 'plain'], { error: 'must be tls, starttls or plain' });
const host = z.string().trim().min(1, 'is required').max(253).regex(/^[A-Za-z0-9.:[\]-]+$/, 'is not a host name or address');
const port = z.number({ error: 'must be a port number' }).int().min(1).max(65535);

const smtpSettingsSchema = z
  .object({
    host,
    port: port.optional(),
    security: security.default('starttls'),
    user: z.string().max(320).optional(),
    password: z.string().max(1000).optional(),
  })
  .strict();

const imapSettingsSchema = z
  .object({
    host,
    port: port.optional(),
    security: security.default('tls'),
    user: z.string().max(320).optional(),
    password: z.string().max(1000).optional(),
    /** Mailbox for Sent copies; by default the \Sent special-use one, else a usual name. */
    sentFolder: z.string().min(1).max(200).optional(),
    /** Gmail and Microsoft 365 file SMTP-sent mail themselves: set false there. */
    append: z.boolean().default(true),
  })
  .strict();

const accountLimitsSchema = z
  .object({
    messagesPerMinute: z.number().positive('must be more than 0').max(100_000).optional(),
    messagesPerDay: z.number().int().positive('must be more than 0').optional(),
    maxConnections: z.number().int().min(1).max(50).optional(),
    /** Messages one SMTP connection carries before the pool opens a new one (some relays allow 5). */
    maxMessagesPerConnection: z.number().int().min(1, 'must be 1 or more').max(10_000).optional(),
    /** When this account may send: weekdays and hours in a time zone. Every campaign on it keeps to it. */
    sendWindow: sendWindowSchema.optional(),
  })
  .strict();

export const accountNameSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'must be 1-63 lower-case letters, digits, - or _')
  .refine((n) => n !== 'default', '"default" is the account configured by SMTP_URL')
  .meta({ not: { const: 'default' } });

const accountFields = z
  .object({
    name: accountNameSchema,
    smtp: smtpSettingsSchema,
    imap: imapSettingsSchema.optional(),
    limits: accountLimitsSchema.default({}),
    /** SASL XOAUTH2 sign-in for SMTP and IMAP instead of passwords (see src/contract/oauth2.ts). */
    oauth2: createOAuth2Schema.optional(),
  })
  .strict();
export type AccountLimitSettings = z.infer<typeof accountLimitsSchema>;

export const createAccountSchema = accountFields;

/** An update: a password or OAuth2 secret left out keeps the stored one. */
export const updateAccountSchema = accountFields.omit({ name: true }).extend({ oauth2: updateOAuth2Schema.optional() });
export type UpdateAccountInput = z.infer<typeof updateAccountSchema>;

export const accountResponse = z.object({
  name: z.string(),
  smtp: z.object({ host: z.string(), port: z.number(), security: security, user: z.string().optional(), passwordSet: z.boolean() }),
  imap: z
    .object({
      host: z.string(),
      port: z.number(),
      security: security,
      user: z.string().optional(),
      passwordSet: z.boolean(),
      sentFolder: z.string().optional(),
      append: z.boolean(),
    })
    .optional(),
  limits: accountLimitsSchema,
  oauth2: oauth2Response.optional(),
  createdAt: z.date().or(z.string()),
  updatedAt: z.date().or(z.string()),
});

export const accountListResponse = z.object({ items: z.array(accountResponse) });

/** What verify found: each login in words (a refusal never carries the remote's own bytes). */
export const accountVerifyResponse = z.object({
  /** Getting an access token, for an OAuth2 account: a refusal in words, with the provider's codes. */
  oauth2: z.object({ ok: z.boolean(), error: z.string().optional() }).optional(),
  smtp: z.object({ ok: z.boolean(), error: z.string().optional() }),
  imap: z.object({ ok: z.boolean(), error: z.string().optional(), sentFolder: z.string().optional() }).optional(),
});

export const defaultPort = (kind: 'smtp' | 'imap', sec: 'tls' | 'starttls' | 'plain') =>
  kind === 'smtp' ? (sec === 'tls' ? 465 : 587) : sec === 'tls' ? 993 : 143;
