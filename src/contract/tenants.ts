import { z } from 'zod';
import { keyProblem } from './key-patterns.js';
import { EMAIL_PATTERN } from './address.js';

// The settings of a tenant: only the installation's admin (the configured API_KEY) changes them.

const s3LocationSchema = z
  .object({
    bucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'is not a valid S3 bucket name'),
    /** Every key of the bucket that starts with this; '' is the whole bucket. */
    prefix: z
      .string()
      .max(1024, 'is longer than 1024 characters')
      .default('')
      .superRefine((p, ctx) => {
        const problem = p ? keyProblem(p) : undefined;
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      }),
  })
  .strict();

// Patterns without lookaheads, which some generators lack; the OpenAPI document carries them.
const DOMAIN_BODY = '(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\\.)+[A-Za-z]{2,63}';
const domainSchema = z
  .string()
  .trim()
  .max(253)
  .regex(new RegExp(`^${DOMAIN_BODY}$`), 'is not a domain name such as example.com')
  .transform((d) => d.toLowerCase());
/** An address, or `@domain` for every address of a domain. */
const testRecipientSchema = z
  .string()
  .trim()
  .max(320)
  .regex(new RegExp(`^(?:@${DOMAIN_BODY}|${EMAIL_PATTERN.slice(1, -1)})$`), 'must be an address (name@example.com) or a domain as @example.com')
  .transform((v) => v.toLowerCase());

export const tenantSettingsSchema = z
  .object({
    /** Left out: none (tenant `default`: those of S3_ALLOWED_LOCATIONS). */
    s3Locations: z.array(s3LocationSchema).max(100, 'must contain at most 100 locations').optional(),
    review: z
      .object({
        /** Whether the tenant's campaigns may say `review: { required: false }`. */
        skipAllowed: z.boolean().default(false),
        /** Whether every campaign of the tenant must be approved by a person other than its creator. */
        fourEyesRequired: z.boolean().default(false),
      })
      .strict()
      .default({ skipAllowed: false, fourEyesRequired: false }),
    /**
     * The installation's `default` account (SMTP_URL): whether the tenant's campaigns may send
     * through it, and with From addresses of which domains (empty: any). Left out: allowed for
     * tenant `default` alone.
     */
    defaultAccount: z
      .object({
        allowed: z.boolean(),
        fromDomains: z.array(domainSchema).max(100, 'must contain at most 100 domains').default([]),
      })
      .strict()
      .optional(),
    /** Where the tenant's reviewers may send test messages besides their own address (the key's person, when it is an address). */
    testSend: z
      .object({ recipients: z.array(testRecipientSchema).max(100, 'must contain at most 100 entries').default([]) })
      .strict()
      .default({ recipients: [] }),
  })
  .strict();
export const tenantSettingsResponse = z.object({
  tenant: z.string(),
  s3Locations: z.array(z.object({ bucket: z.string(), prefix: z.string() })),
  s3LocationsFrom: z.enum(['settings', 'configuration']),
  review: z.object({ skipAllowed: z.boolean(), fourEyesRequired: z.boolean() }),
  defaultAccount: z.object({ allowed: z.boolean(), fromDomains: z.array(z.string()) }),
  testSend: z.object({ recipients: z.array(z.string()) }),
  updatedAt: z.iso.datetime().optional(),
  updatedBy: z.string().optional(),
});
