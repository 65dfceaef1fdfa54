import { IANAZone } from 'luxon';
import { z } from 'zod';

// When sending is allowed: some weekdays, between two times of day, in a time zone. An account
// and a campaign may each have one; a message goes only when every window that applies is open.

export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

const HH_MM = '(?:[01]\\d|2[0-3]):[0-5]\\d';
const opening = z.string().regex(new RegExp(`^${HH_MM}$`), 'must be a time of day as HH:MM (00:00 to 23:59)');
const closing = z.string().regex(new RegExp(`^(?:${HH_MM}|24:00)$`), 'must be a time of day as HH:MM (00:00 to 24:00)');

/** The zones the OpenAPI document lists; the API accepts every zone the runtime knows (aliases too). */
const DOCUMENTED_ZONES = ['UTC', ...Intl.supportedValuesOf('timeZone')];

export const sendWindowSchema = z
  .object({
    /** The days on which a window opens (a window from 22:00 to 06:00 opens on these days and closes the next morning). */
    days: z
      .array(z.enum(WEEKDAYS, { error: `must be one of ${WEEKDAYS.join(', ')}` }))
      .min(1, 'must name at least one day')
      .max(7)
      .refine((d) => new Set(d).size === d.length, 'names a day twice')
      .meta({ uniqueItems: true }),
    from: opening,
    /** Exclusive. Earlier than `from` closes the next day; equal to it, 24 hours later (00:00 to 00:00 is the whole day). */
    to: closing,
    timeZone: z
      .string()
      .max(64)
      .refine((zone) => IANAZone.isValidZone(zone), 'is not an IANA time zone such as Europe/Berlin')
      .meta({ enum: DOCUMENTED_ZONES }),
  })
  .strict();

export type SendWindow = z.infer<typeof sendWindowSchema>;
