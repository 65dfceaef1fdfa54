import type { ActivityDeps } from './deps.js';
import { checkMailbox, type BounceCheckResult } from '../bounces/inbox.js';

export interface BounceCheckInput {
  /** `default` (the IMAP_URL account) or `<tenant>/<account>`. */
  mailbox: string;
}

export function createBounceActivities({ sql, messageIds, bounceInbox, logger }: ActivityDeps) {
  return {
    /** Reads the account's new INBOX messages and records the delivery reports and the answers among them. */
    async checkBounces({ mailbox }: BounceCheckInput): Promise<BounceCheckResult> {
      const result = await checkMailbox(sql, messageIds, bounceInbox ?? { tlsInsecure: false }, mailbox);
      if (result.read > 0) logger.info({ mailbox, ...result }, 'bounce check');
      return result;
    },
  };
}
