import { z } from 'zod';
import { accountNameSchema } from '../contract/accounts.js';
import { campaignIdSchema } from '../contract/campaign.js';
import { INT4_MAX } from '../contract/input.js';
import { tenantIdSchema } from '../contract/keys.js';
import type { PathParam } from './route-spec.js';

// Path parameters name resources: a value that cannot name one answers as an unknown one does,
// `404 <resource> not found`, so a malformed id tells a caller nothing a missing one would not.

const param = <T>(resource: string, schema: z.ZodType<T, string>): PathParam<T> => ({ resource, schema });

export const campaignParam = param('campaign', campaignIdSchema);
/** Recipient ids are PostgreSQL integers, from 1. */
export const recipientParam = param('recipient', z.string().regex(/^[1-9]\d{0,9}$/).transform(Number).pipe(z.number().max(INT4_MAX)));
export const accountParam = param('account', accountNameSchema);
export const keyParam = param('key', z.uuid());
export const tenantParam = param('tenant', tenantIdSchema);
/** Any text: the suppression list holds addresses as they were given, lower-cased. */
export const suppressionParam = param('suppression', z.string().min(1).max(320));
