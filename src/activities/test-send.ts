import { ApplicationFailure, Context } from '@temporalio/activity';
import { ACCOUNT_HELD, ACCOUNT_THROTTLED, ATTACHMENT_CHANGED, CAMPAIGN_NOT_FOUND, LOCATION_DENIED, TEST_SEND_REFUSED } from '../contract/failures.js';
import { TEST_SEND_MAX_WAIT_MS } from '../contract/test-send.js';
import * as campaigns from '../db/campaigns.js';
import * as recipients from '../db/recipients.js';
import type { LiveAccount } from '../mail/account-pool.js';
import { composeRecipientMessage } from '../mail/recipient-message.js';
import { classifySmtpError } from '../mail/smtp.js';
import { ObjectChangedError } from '../s3/client.js';
import { LocationDeniedError } from '../s3/locations.js';
import { tenantS3 } from '../s3/tenant-s3.js';
import type { ActivityDeps, RecipientRef } from './deps.js';
import { waitUntil } from './heartbeat.js';
import { passAccountGate, rateLimits, startWhenMinuteAllows } from './account-gate.js';

function throttled(account: string, reason: string, retryAt: Date): ApplicationFailure {
  return ApplicationFailure.create({
    nonRetryable: true,
    type: ACCOUNT_THROTTLED,
    message: `account ${account}: ${reason}; the next message may go at ${retryAt.toISOString()}`,
    details: [retryAt.toISOString()],
  });
}

/** Sending one rendered message to a test address only; no status of the campaign changes. */
export function createTestSendActivities(deps: ActivityDeps) {
  const { sql, accounts } = deps;
  /**
   * A test send is a send like any other for the account: refused while the account is held,
   * and it takes a slot under the account's per-minute and daily limits (waiting briefly for
   * a near one, refused when the next is further off).
   */
  async function accountSlot(campaign: { tenant: string; account: string }, limits: LiveAccount['limits']): Promise<void> {
    const { tenant, account } = campaign;
    const rate = rateLimits(tenant, account, limits);
    // Both waits together take at most TEST_SEND_MAX_WAIT_MS, so the attempt has time left for SMTP.
    const giveUpAt = Date.now() + TEST_SEND_MAX_WAIT_MS;
    const gate = await passAccountGate(sql, { tenant, account, limits: rate, windows: [], maxWaitMs: TEST_SEND_MAX_WAIT_MS });
    if (!gate.go && 'held' in gate) throw ApplicationFailure.nonRetryable(gate.held, ACCOUNT_HELD);
    if (!gate.go) throw throttled(account, gate.reason, gate.retryAt);
    await waitUntil(gate.at);
    const roomAt = await startWhenMinuteAllows(sql, rate, Math.max(0, giveUpAt - Date.now()));
    if (roomAt) throw throttled(account, 'rate limit', roomAt);
  }

  return {
    async testSend({ campaignId, recipientId, to }: RecipientRef & { to: string }): Promise<{ messageId: string; response: string }> {
      const campaign = await campaigns.getCampaign(sql, campaignId);
      const r = await recipients.getRecipient(sql, campaignId, recipientId);
      if (!campaign || !r) throw ApplicationFailure.nonRetryable(`recipient ${recipientId} of campaign ${campaignId} does not exist`, CAMPAIGN_NOT_FOUND);
      const account = await accounts.get(campaign.tenant, campaign.account);
      await accountSlot(campaign, account.limits);
      // One test send is one workflow: its retries carry the same Message-ID, so a receiving
      // server that saw an attempt through can tell the repeat for what it is.
      const { workflowExecution, activityId } = Context.current().info;
      const test = { to, id: workflowExecution?.workflowId ?? activityId };
      let msg: Awaited<ReturnType<typeof composeRecipientMessage>>;
      try {
        msg = await composeRecipientMessage(campaign, r, await tenantS3(deps, campaign.tenant), deps, { test });
      } catch (err) {
        if (err instanceof ObjectChangedError) throw ApplicationFailure.nonRetryable(err.message, ATTACHMENT_CHANGED);
        if (err instanceof LocationDeniedError) throw ApplicationFailure.nonRetryable(err.message, LOCATION_DENIED);
        throw err;
      }
      try {
        const { response } = await account.smtp.withSlot(() => account.smtp.send({ from: campaign.definition.from.address, to: [to] }, msg.raw));
        return { messageId: msg.messageId, response };
      } catch (err) {
        const outcome = classifySmtpError(err);
        if (outcome.kind === 'transient') throw err;
        throw ApplicationFailure.create({ message: outcome.reason, type: TEST_SEND_REFUSED, nonRetryable: true });
      }
    },
  };
}
