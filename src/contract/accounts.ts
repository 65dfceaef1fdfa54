import { z } from 'zod';

// The public contract of /api/v1/accounts. Passwords go in, never out.

const security = z.enum(['tls', 'starttls', 'plain'], { error: 'must be tls, starttls or plain' });
const host = z.string().trim().min(1, 'is required').max(253).regex(/^[A-Za-z0-9.:[\]-]+$/, 'is not a host name or address');
const port = z.number({ error: 'must be a port number' }).int().min(1).max(65535);

export const smtpSettingsSchema = z
  .object({
    host,
    port: port.optional(),
    security: security.default('starttls'),
    user: z.string().max(320).optional(),
    password: z.string().max(1000).optional(),
  })
  .strict();

export const imapSettingsSchema = z
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

export const accountLimitsSchema = z
  .object({
    messagesPerMinute: z.number().positive('must be more than 0').max(100_000).optional(),
    messagesPerDay: z.number().int().positive('must be more than 0').optional(),
    maxConnections: z.number().int().min(1).max(50).optional(),
    /** Messages one SMTP connection carries before the pool opens a new one (some relays allow 5). */
    maxMessagesPerConnection: z.number().int().min(1, 'must be 1 or more').max(10_000).optional(),
  })
  .strict();

const FLOWS: Record<string, string[]> = {
  microsoft: ['client_credentials', 'refresh_token'],
  google: ['refresh_token', 'service_account'],
  other: ['client_credentials', 'refresh_token', 'service_account'],
};

/**
 * OAuth2 (SASL XOAUTH2) sign-in for SMTP and IMAP instead of passwords. The secret, refresh token
 * and private key go in, never out: a field left out of an update keeps the stored one.
 */
export const oauth2SettingsSchema = z
  .object({
    provider: z.enum(['microsoft', 'google', 'other'], { error: 'must be microsoft, google or other' }),
    flow: z.enum(['client_credentials', 'refresh_token', 'service_account'], { error: 'must be client_credentials, refresh_token or service_account' }),
    /** The app's client id; for a Google service account, its client_email. */
    clientId: z.string().trim().min(1, 'is required').max(500),
    /** Microsoft Entra tenant id or domain. */
    tenant: z.string().trim().regex(/^[A-Za-z0-9.-]{1,200}$/, 'is not a tenant id or domain').optional(),
    clientSecret: z.string().min(1).max(4000).meta({ writeOnly: true }).optional(),
    refreshToken: z.string().min(1).max(8000).meta({ writeOnly: true }).optional(),
    /** The service account's private_key (PKCS#8 PEM). */
    privateKey: z.string().min(1).max(10_000).meta({ writeOnly: true }).optional(),
    /** By default one scope that covers SMTP and IMAP (see the README). */
    scope: z.string().trim().min(1).max(1000).optional(),
    /** The token endpoint, when not the provider's own (https, or http on this machine only). */
    tokenUrl: z
      .url({ error: 'must be a URL' })
      .max(2000)
      .refine((u) => u.startsWith('https:') || /^http:\/\/(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?\//.test(u), 'must be https (plain http only to this machine)')
      .optional(),
  })
  .strict()
  .superRefine((o, ctx) => {
    if (!FLOWS[o.provider]!.includes(o.flow)) ctx.addIssue({ code: 'custom', path: ['flow'], message: `must be ${FLOWS[o.provider]!.join(' or ')} for ${o.provider}` });
    if (o.provider === 'microsoft' && !o.tenant) ctx.addIssue({ code: 'custom', path: ['tenant'], message: 'is required for microsoft' });
    if (o.provider === 'other' && !o.tokenUrl) ctx.addIssue({ code: 'custom', path: ['tokenUrl'], message: 'is required for provider other' });
  });
export type OAuth2SettingsInput = z.infer<typeof oauth2SettingsSchema>;

/** The secret field each flow needs. */
export const secretFieldOf = (flow: OAuth2SettingsInput['flow']) =>
  flow === 'client_credentials' ? 'clientSecret' : flow === 'refresh_token' ? 'refreshToken' : 'privateKey';

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
    oauth2: oauth2SettingsSchema.optional(),
  })
  .strict();

/** An OAuth2 account signs in as a mailbox: the user names it. */
function mailboxNamed(o: { smtp: { user?: string }; imap?: { user?: string }; oauth2?: unknown }, ctx: z.RefinementCtx): void {
  const message = 'is required with oauth2: the mailbox to sign in as';
  if (o.oauth2 && !o.smtp.user) ctx.addIssue({ code: 'custom', path: ['smtp', 'user'], message });
  if (o.oauth2 && o.imap && !o.imap.user) ctx.addIssue({ code: 'custom', path: ['imap', 'user'], message });
}

export const createAccountSchema = accountFields.superRefine(mailboxNamed);
export type CreateAccountInput = z.infer<typeof createAccountSchema>;

export const updateAccountSchema = accountFields.omit({ name: true }).superRefine(mailboxNamed);
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
  oauth2: z
    .object({
      provider: z.string(),
      flow: z.string(),
      clientId: z.string(),
      tenant: z.string().optional(),
      scope: z.string().optional(),
      tokenUrl: z.string().optional(),
      /** Whether the flow's secret (client secret, refresh token or private key) is stored. */
      secretSet: z.boolean(),
    })
    .optional(),
  createdAt: z.date().or(z.string()),
  updatedAt: z.date().or(z.string()),
});

export const defaultPort = (kind: 'smtp' | 'imap', sec: 'tls' | 'starttls' | 'plain') =>
  kind === 'smtp' ? (sec === 'tls' ? 465 : 587) : sec === 'tls' ? 993 : 143;
