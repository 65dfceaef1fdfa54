import type { Metrics } from '../metrics.js';
import type { Sql } from '../db/sql.js';
import type { Logger } from '../logger.js';
import type { AccountPool } from '../mail/account-pool.js';
import type { S3Store } from '../s3/client.js';
import type { S3Location } from '../s3/locations.js';

export interface ActivityDeps {
  sql: Sql;
  /** The SMTP accounts: `default` from configuration, the others from Postgres. */
  accounts: AccountPool;
  logger: Logger;
  unknownPolicy: 'resend' | 'hold';
  /** The process's S3 client: read through `tenantS3` (src/activities/tenant-s3.ts), never directly. */
  s3: S3Store;
  /** S3_ALLOWED_LOCATIONS: what tenant `default` may read while its settings name none. */
  s3Locations?: readonly S3Location[];
  /** Messages larger than this are blocked at build time. */
  maxMessageBytes: number;
  /** Recipients one campaign may have (MAX_RECIPIENTS_PER_CAMPAIGN); a longer list fails the build. */
  maxRecipients?: number;
  metrics: Metrics;
}

export interface CampaignRef {
  campaignId: string;
}

export interface RecipientRef {
  campaignId: string;
  recipientId: number;
}

/** Non-retryable failure types the workflows rely on. */
export const CAMPAIGN_NOT_FOUND = 'CampaignNotFound';
export const CONTENT_CHANGED = 'ContentChangedSinceSend';
/** An attachment in S3 is not the version the list was built (and reviewed) with. */
export const ATTACHMENT_CHANGED = 'AttachmentChangedSinceBuild';
/** A test send the SMTP server refused for good (a 5xx): not retried; the API answers 502 with the reply. */
export const TEST_SEND_REFUSED = 'TestSendRefused';
/** A test send refused because the account is held (quota or authentication): the API answers 409. */
export const ACCOUNT_HELD = 'AccountHeld';
/** A test send refused because the account's next slot under its limits is too far off: 429. */
export const ACCOUNT_THROTTLED = 'AccountThrottled';
/** An S3 read outside the tenant's locations (they may have been narrowed since the campaign was created). */
export const LOCATION_DENIED = 'S3LocationDenied';
