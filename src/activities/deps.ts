import type { Sql } from '../db/sql.js';
import type { Logger } from '../logger.js';
import type { SentFolderClient } from '../mail/imap.js';
import type { SmtpSender } from '../mail/smtp.js';
import type { S3Store } from '../s3/client.js';

export interface ActivityDeps {
  sql: Sql;
  smtp: SmtpSender;
  /** Absent when Sent copies are off for this worker. */
  sentFolder?: SentFolderClient;
  logger: Logger;
  unknownPolicy: 'resend' | 'hold';
  s3: S3Store;
  /** Messages estimated larger than this are blocked at build time. */
  maxMessageBytes: number;
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
