import type { Client } from '@temporalio/client';
import type { AccountLimitSettings } from '../contract/accounts.js';
import { DEFAULT_BOUNCE_CHECKS, type BounceCheckSettings } from '../bounces/check-schedules.js';
import type { Sql } from '../db/sql.js';
import type { Logger } from '../logger.js';
import { MessageIds } from '../mail/message-id.js';
import { Templates } from '../mail/templates.js';
import type { Metrics } from '../metrics.js';
import type { PrivateHostAllowance } from '../net/host-policy.js';
import type { S3Store } from '../s3/client.js';
import type { S3Location } from '../s3/locations.js';
import { UnsubscribeLinks } from '../unsubscribe/token.js';
import { PAGE_LIMIT } from './paging.js';
import { QueueCounts } from './campaign-plan.js';

// What the API is built from (AppDeps, given to createApp), and what its routers receive once
// every default is filled in (ResolvedDeps). Each router takes the part of ResolvedDeps it uses
// (`Pick<ResolvedDeps, ...>`): every field is required there, so a dependency left out, or misspelt,
// does not compile.

export interface AppDeps {
  sql: Sql;
  client: Client;
  apiKey: string;
  taskQueue: string;
  namespace: string;
  temporalUiUrl?: string;
  /** Seals stored account passwords; without it accounts can hold no passwords. */
  masterKey?: string;
  logger: Logger;
  /** Attachment bytes for previews. */
  s3?: S3Store;
  /** S3_ALLOWED_LOCATIONS: what tenant `default` may read while its settings name no locations. */
  s3Locations?: readonly S3Location[];
  /** Request counts and times by route pattern (never by URL: IDs would explode the labels). */
  metrics?: Metrics;
  /** Older master keys that still open what they sealed (MASTER_KEY_PREVIOUS). */
  previousMasterKeys?: string[];
  /** Inward addresses account verification may reach (ALLOW_PRIVATE_HOSTS); default none. */
  allowPrivateHosts?: PrivateHostAllowance;
  /** What one caller may use; see ApiLimits. */
  limits?: Partial<ApiLimits>;
  /** The limits and send window of the account SMTP_URL configures, to plan schedules with. */
  defaultAccountLimits?: AccountLimitSettings;
  /** The template limits (TEMPLATE_*); default DEFAULT_TEMPLATE_LIMITS. */
  templates?: Templates;
  /** How unsubscribe links are made and checked; default: under masterKey and previousMasterKeys, with no PUBLIC_URL. */
  unsubscribeLinks?: UnsubscribeLinks;
  /** How Message-IDs are made (previews show the one the send will carry); default: under masterKey and previousMasterKeys. */
  messageIds?: MessageIds;
  /** How often new accounts' INBOXes are read (BOUNCE_CHECK_EVERY); default every 5 minutes. */
  bounceChecks?: BounceCheckSettings;
  /**
   * Check every success against its route's declared response schema: a mismatch is a logged 500.
   * Default: on unless NODE_ENV is `production`, where answers go out unchecked.
   */
  checkResponses?: boolean;
}

/** What one caller may use of the API. Each is configurable (README, configuration). */
export interface ApiLimits {
  /** Requests per key (per principal for the bootstrap key) per minute: over it, 429 with Retry-After. */
  requestsPerMinute: number;
  /** Requests per tenant per minute, all its keys together: a key that mints keys gains no budget. */
  requestsPerTenantPerMinute: number;
  /** Failed authentications per client address per minute; over it the address is refused until the minute ends. */
  authFailuresPerMinute: number;
  /** Requests per client address per minute to what needs no key (`/readyz`, `/unsubscribe`). */
  publicRequestsPerMinute: number;
  /** Accounts one tenant may have (each has a bounce check Schedule). */
  accountsPerTenant: number;
  /** Recipients one campaign may have. */
  recipientsPerCampaign: number;
  /** Attachment bytes one preview may fetch from S3. */
  previewAttachmentBytes: number;
  /** Items one list page may hold. */
  pageItems: number;
  /** Milliseconds a preview's templates may take: the API's event loop is held at most this long. */
  previewRenderMs: number;
}

const DEFAULT_API_LIMITS: ApiLimits = {
  requestsPerMinute: 600,
  requestsPerTenantPerMinute: 2400,
  authFailuresPerMinute: 30,
  publicRequestsPerMinute: 120,
  accountsPerTenant: 50,
  recipientsPerCampaign: 1_000_000,
  previewAttachmentBytes: 25 * 1024 * 1024,
  pageItems: PAGE_LIMIT.max,
  previewRenderMs: 50,
};

/**
 * AppDeps with every default filled in: what the routers share. Each field is required; one that
 * may be absent says so in its type (`| undefined`), so it is always passed on explicitly.
 */
export interface ResolvedDeps {
  sql: Sql;
  client: Client;
  apiKey: string;
  taskQueue: string;
  namespace: string;
  temporalUiUrl: string | undefined;
  /** Seals stored account passwords; without it accounts can hold no passwords. */
  masterKey: string | undefined;
  /** Older master keys that still open what they sealed (MASTER_KEY_PREVIOUS). */
  previousMasterKeys: string[] | undefined;
  logger: Logger;
  /** Attachment bytes for previews; without it, previews of messages with attachments answer 503. */
  s3: S3Store | undefined;
  /** S3_ALLOWED_LOCATIONS: what tenant `default` may read while its settings name no locations. */
  s3Locations: readonly S3Location[];
  metrics: Metrics | undefined;
  /** Inward addresses account verification may reach (ALLOW_PRIVATE_HOSTS). */
  allowPrivateHosts: PrivateHostAllowance;
  limits: ApiLimits;
  /** The limits and send window of the account SMTP_URL configures, to plan schedules with. */
  defaultAccountLimits: AccountLimitSettings;
  templates: Templates;
  unsubscribeLinks: UnsubscribeLinks;
  messageIds: MessageIds;
  bounceChecks: BounceCheckSettings;
  /** What the other campaigns of an account have left, counted at most every few seconds (one per app). */
  queueCounts: QueueCounts;
  checkResponses: boolean;
}

/** The ResolvedDeps of one app: what AppDeps leaves out, filled in with its default. */
export function resolveDeps(d: AppDeps): ResolvedDeps {
  return {
    sql: d.sql,
    client: d.client,
    apiKey: d.apiKey,
    taskQueue: d.taskQueue,
    namespace: d.namespace,
    temporalUiUrl: d.temporalUiUrl,
    masterKey: d.masterKey,
    previousMasterKeys: d.previousMasterKeys,
    logger: d.logger,
    s3: d.s3,
    s3Locations: d.s3Locations ?? [],
    metrics: d.metrics,
    allowPrivateHosts: d.allowPrivateHosts ?? 'none',
    limits: { ...DEFAULT_API_LIMITS, ...d.limits },
    defaultAccountLimits: d.defaultAccountLimits ?? {},
    templates: d.templates ?? new Templates(),
    unsubscribeLinks: d.unsubscribeLinks ?? new UnsubscribeLinks({ masterKey: d.masterKey, previousMasterKeys: d.previousMasterKeys }),
    messageIds: d.messageIds ?? new MessageIds({ masterKey: d.masterKey, previousMasterKeys: d.previousMasterKeys }),
    bounceChecks: d.bounceChecks ?? DEFAULT_BOUNCE_CHECKS,
    queueCounts: new QueueCounts(),
    checkResponses: d.checkResponses ?? process.env.NODE_ENV !== 'production',
  };
}
