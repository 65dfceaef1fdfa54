import { z } from 'zod';

export const KEY_SCOPES = ['campaigns:write', 'campaigns:read', 'campaigns:review', 'accounts:admin', 'keys:admin'] as const;

export const tenantIdSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'must be 1-63 lowercase letters, digits, "-" or "_"');

export const createKeySchema = z
  .object({
    name: z
      .string({ error: 'is required' })
      .regex(/^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$/, 'must be 1-100 letters, digits, ".", "_", "@" or "-"'),
    scopes: z.array(z.enum(KEY_SCOPES), { error: 'is required: a list of scopes' }).min(1, 'must name at least one scope'),
    /**
     * The person the key is for (the configured API_KEY only). Without it a key made by the
     * configured key is a person of its own, and a key made by a stored key acts for its maker's person.
     */
    person: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._@+-]{0,199}$/, 'must be 1-200 letters, digits, ".", "_", "@", "+" or "-"')
      .optional(),
    /** Only the configured API_KEY may create a key for another tenant (creating the tenant). */
    tenant: tenantIdSchema.optional(),
  })
  .strict();
