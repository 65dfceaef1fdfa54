import type { FollowUpSource } from '../db/campaigns.js';
import { previousRecipientCount, previousRecipients } from '../db/follow-ups.js';
import type { Db } from '../db/sql.js';
import { SourceError, type ListEntry, type SourceProgress } from '../build/recipient-source.js';

// The recipient source of a follow-up campaign: the recipients of another campaign of the same
// tenant whose send status is one of those chosen, read from PostgreSQL a page at a time.

const PAGE = 500;

/**
 * The original campaign's recipients as list entries (email, name, cc, bcc, vars), in list order,
 * each with the Message-ID it answers and its References when the follow-up is threaded.
 * The campaign must be the tenant's: the API checked it at creation, the build checks again.
 */
export async function* followUpRecipients(db: Db, tenant: string, source: FollowUpSource, progress: SourceProgress): AsyncGenerator<ListEntry> {
  const total = await previousRecipientCount(db, tenant, source);
  if (total === undefined) throw new SourceError(`the campaign ${source.campaignId} to send again from does not exist`);
  progress.bytesTotal = total;
  for (let after = 0; ; ) {
    const rows = await previousRecipients(db, source, after, PAGE);
    for (const r of rows) {
      progress.bytesRead++;
      const raw = {
        email: r.email,
        vars: r.vars,
        ...(r.name !== null ? { name: r.name } : {}),
        ...(r.cc.length ? { cc: r.cc } : {}),
        ...(r.bcc.length ? { bcc: r.bcc } : {}),
      };
      yield { raw, threadMessageId: r.threadMessageId, threadReferences: r.threadReferences };
    }
    if (rows.length < PAGE) return;
    after = rows[rows.length - 1]!.id;
  }
}
