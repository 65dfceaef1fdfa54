import type { BounceInboxDeps } from '../bounces/inbox.js';
import type { Metrics } from '../metrics.js';
import type { Sql } from '../db/sql.js';
import type { Logger } from '../logger.js';
import type { AccountPool } from '../mail/account-pool.js';
import type { MessageIds } from '../mail/message-id.js';
import type { Templates } from '../mail/templates.js';
import type { UnsubscribeLinks } from '../unsubscribe/token.js';
import type { S3Store } from '../s3/client.js';
import type { S3Location } from '../s3/locations.js';

export interface ActivityDeps {
  sql: Sql;
  /** The SMTP accounts: `default` from configuration, the others from Postgres. */
  accounts: AccountPool;
  logger: Logger;
  unknownPolicy: 'resend' | 'hold';
  /** The process's S3 client: read through `tenantS3` (src/s3/tenant-s3.ts), never directly. */
  s3: S3Store;
  /** S3_ALLOWED_LOCATIONS: what tenant `default` may read while its settings name none. */
  s3Locations?: readonly S3Location[];
  /** Messages larger than this are blocked at build time. */
  maxMessageBytes: number;
  /** Recipients one campaign may have (MAX_RECIPIENTS_PER_CAMPAIGN); a longer list fails the build. */
  maxRecipients?: number;
  metrics: Metrics;
  /** The template limits of this process (TEMPLATE_*). */
  templates: Templates;
  /** How List-Unsubscribe links are made (PUBLIC_URL, UNSUBSCRIBE_KEY, MASTER_KEY). */
  unsubscribeLinks: UnsubscribeLinks;
  /** How Message-IDs are made and checked (MASTER_KEY, MASTER_KEY_PREVIOUS). */
  messageIds: MessageIds;
  /** The accounts' INBOXes, for the bounce check (src/bounces). */
  bounceInbox?: BounceInboxDeps;
}

export interface CampaignRef {
  campaignId: string;
}

export interface RecipientRef {
  campaignId: string;
  recipientId: number;
}
