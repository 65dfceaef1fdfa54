import { ApplicationFailure } from '@temporalio/activity';
import { CAMPAIGN_NOT_FOUND, CONTENT_CHANGED, LOCATION_DENIED, UNKNOWN_ACCOUNT } from '../contract/failures.js';
import * as ledger from '../db/ledger.js';
import type { SendOutcomeRecord } from '../db/ledger.js';
import * as recipients from '../db/recipients.js';
import { ObjectChangedError } from '../s3/client.js';
import { LocationDeniedError } from '../s3/locations.js';
import type { ActivityDeps, RecipientRef } from './deps.js';
import { heartbeating } from './heartbeat.js';
import { accountOf, existingCampaign, recipientMessage, type RecipientMessage } from './records.js';
import { sendMessage, type SendResult } from './send-message.js';

export type { SendResult } from './send-message.js';

/** Sending one recipient's message over SMTP and filing its copy over IMAP. */
export function createDeliveryActivities(deps: ActivityDeps) {
  const { sql, metrics } = deps;
  return {
    /**
     * Sends one recipient's message, effectively once. Each attempt registers itself on the
     * recipient as it starts and, right before SMTP, claims the message in the ledger only while
     * it is still the newest attempt and no earlier one is inside SMTP; the ledger is written
     * before and after the SMTP transaction, and a retry reads it before doing anything. Holding
     * one of the worker's connection slots, it checks that the campaign is still sending and
     * that no address of the message was suppressed meanwhile.
     */
    async sendMessage(ref: RecipientRef): Promise<SendResult> {
      return heartbeating((note) => sendMessage(deps, ref, note));
    },

    /** Records an SMTP outcome the send activity could not write (the database was away). */
    async recordSendOutcome(o: SendOutcomeRecord): Promise<void> {
      await ledger.recordOutcome(sql, o);
    },

    /** Files the exact bytes that were sent in the Sent folder, unless a copy is already there. */
    async appendToSent({ campaignId, recipientId }: RecipientRef): Promise<{ appended: boolean }> {
      const campaign = await existingCampaign(sql, campaignId);
      const account = await accountOf(deps, campaign);
      if (typeof account === 'string') throw ApplicationFailure.retryable(account, UNKNOWN_ACCOUNT);
      const { sentFolder } = account;
      if (!sentFolder) return { appended: false };
      const entry = await ledger.getLedger(sql, campaignId, recipientId);
      if (entry?.state !== 'sent') {
        throw ApplicationFailure.nonRetryable(`recipient ${recipientId} has no sent message to copy`, CAMPAIGN_NOT_FOUND);
      }
      const { raw } = await sentBytes(deps, entry);
      const { appended } = await heartbeating(async () => sentFolder.appendOnce(raw, entry.messageId, entry.messageDate));
      await recipients.updateCopyStatus(sql, campaignId, recipientId, { copyStatus: 'appended', appendedAt: new Date() });
      metrics.sentCopies.inc({ account: `${campaign.tenant}/${campaign.account}`, outcome: appended ? 'appended' : 'present' });
      return { appended };
    },
  };
}

/** The message rebuilt for the Sent copy, refused unless it is byte for byte the one sent. */
async function sentBytes(deps: ActivityDeps, entry: ledger.LedgerRow): Promise<RecipientMessage> {
  let built: RecipientMessage;
  try {
    built = await recipientMessage(deps, entry.campaignId, entry.recipientId, entry.messageDate, entry.messageId);
  } catch (err) {
    if (err instanceof ObjectChangedError) throw ApplicationFailure.nonRetryable(`cannot rebuild the sent message: ${err.message}`, CONTENT_CHANGED);
    if (err instanceof LocationDeniedError) throw ApplicationFailure.nonRetryable(`cannot rebuild the sent message: ${err.message}`, LOCATION_DENIED);
    throw err;
  }
  if (entry.sha256 && built.sha256 !== entry.sha256) {
    throw ApplicationFailure.nonRetryable('the message rebuilt for the Sent copy differs from the one sent; not filing a copy that differs', CONTENT_CHANGED);
  }
  return built;
}
