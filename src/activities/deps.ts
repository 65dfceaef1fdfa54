import type { Sql } from '../db/sql.js';
import type { Logger } from '../logger.js';
import type { SentFolderClient } from '../mail/imap.js';
import type { SmtpSender } from '../mail/smtp.js';

export interface ActivityDeps {
  sql: Sql;
  smtp: SmtpSender;
  /** Absent when Sent copies are off for this worker. */
  sentFolder?: SentFolderClient;
  logger: Logger;
  unknownPolicy: 'resend' | 'hold';
  /** The SMTP account this worker sends through and its limits (0: none). */
  account: { name: string; messagesPerMinute: number; messagesPerDay: number };
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
