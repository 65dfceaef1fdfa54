import { lockSealedSecrets, setSealedSecrets } from '../db/accounts.js';
import { appendAudit } from '../db/audit.js';
import type { Sql } from '../db/sql.js';
import { sealContext } from '../mail/account-pool.js';
import type { SecretBox } from './secrets.js';

/**
 * Seals every stored secret again under the newest master key (MASTER_KEY), opening each with
 * whichever configured key sealed it. One transaction: either every secret moves or none does,
 * so MASTER_KEY_PREVIOUS can be dropped once this has run. Audited per account.
 */
export async function resealSecrets(sql: Sql, box: SecretBox): Promise<{ accounts: number; resealed: number }> {
  return sql.begin(async (tx) => {
    const rows = await lockSealedSecrets(tx);
    let resealed = 0;
    for (const row of rows) {
      const again = (sealed: string | null, field: string) =>
        sealed && box.isStale(sealed) ? box.reseal(sealed, sealContext(row.tenant, row.name, field)) : sealed;
      const smtp = again(row.smtpPassword, 'smtp');
      const imap = again(row.imapPassword, 'imap');
      const oauth2 = again(row.oauth2Secrets, 'oauth2');
      if (smtp === row.smtpPassword && imap === row.imapPassword && oauth2 === row.oauth2Secrets) continue;
      // updated_at stays: the settings did not change, and workers need not rebuild their transports.
      await setSealedSecrets(tx, row.tenant, row.name, { smtp, imap, oauth2 });
      await appendAudit(tx, { tenant: row.tenant, principal: 'operator:reseal', action: 'account.reseal', subject: row.name, details: { keyId: box.keyId } });
      resealed++;
    }
    return { accounts: rows.length, resealed };
  });
}
