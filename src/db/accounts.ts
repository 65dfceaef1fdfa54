import type { OAuth2Settings } from '../mail/oauth2.js';
import { FINAL_CAMPAIGN_STATUSES, type CampaignStatus } from '../contract/statuses.js';
import type { Db } from './sql.js';

type Security = 'tls' | 'starttls' | 'plain';

export interface AccountRow {
  tenant: string;
  name: string;
  smtp: { host: string; port: number; security: Security; user?: string };
  smtpPassword: string | null;
  imap: { host: string; port: number; security: Security; user?: string; sentFolder?: string; append: boolean } | null;
  imapPassword: string | null;
  limits: { messagesPerMinute?: number; messagesPerDay?: number; maxConnections?: number; maxMessagesPerConnection?: number };
  /** OAuth2 sign-in instead of passwords; its secrets are sealed in `oauth2Secrets`. */
  oauth2: OAuth2Settings | null;
  /** Sealed JSON of the flow's secrets (see src/mail/oauth2.ts). */
  oauth2Secrets: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export type AccountWrite = Omit<AccountRow, 'createdAt' | 'updatedAt'>;

export async function getAccount(db: Db, tenant: string, name: string): Promise<AccountRow | undefined> {
  const [row] = await db<AccountRow[]>`SELECT * FROM accounts WHERE tenant = ${tenant} AND name = ${name}`;
  return row;
}

export async function listAccounts(db: Db, tenant: string): Promise<AccountRow[]> {
  return db<AccountRow[]>`SELECT * FROM accounts WHERE tenant = ${tenant} ORDER BY name`;
}

/** How many accounts the tenant has, counted while holding the tenant's account lock (until the transaction ends). */
export async function lockAccountCount(tx: Db, tenant: string): Promise<number> {
  await tx`SELECT pg_advisory_xact_lock(hashtext(${`accounts:${tenant}`}))`;
  const [row] = await tx<{ n: number }[]>`SELECT count(*)::int AS n FROM accounts WHERE tenant = ${tenant}`;
  return row!.n;
}

/** Inserts; undefined when the name is taken in this tenant. */
export async function insertAccount(db: Db, a: AccountWrite): Promise<AccountRow | undefined> {
  const [row] = await db<AccountRow[]>`
    INSERT INTO accounts (tenant, name, smtp, smtp_password, imap, imap_password, limits, oauth2, oauth2_secrets)
    VALUES (${a.tenant}, ${a.name}, ${db.json(a.smtp as never)}, ${a.smtpPassword},
            ${a.imap ? db.json(a.imap as never) : null}, ${a.imapPassword}, ${db.json(a.limits as never)},
            ${a.oauth2 ? db.json(a.oauth2 as never) : null}, ${a.oauth2Secrets})
    ON CONFLICT (tenant, name) DO NOTHING
    RETURNING *`;
  return row;
}

export async function updateAccount(db: Db, a: AccountWrite): Promise<AccountRow | undefined> {
  const [row] = await db<AccountRow[]>`
    UPDATE accounts SET smtp = ${db.json(a.smtp as never)}, smtp_password = ${a.smtpPassword},
           imap = ${a.imap ? db.json(a.imap as never) : null}, imap_password = ${a.imapPassword},
           limits = ${db.json(a.limits as never)}, oauth2 = ${a.oauth2 ? db.json(a.oauth2 as never) : null},
           oauth2_secrets = ${a.oauth2Secrets}, updated_at = now()
    WHERE tenant = ${a.tenant} AND name = ${a.name}
    RETURNING *`;
  return row;
}

export async function deleteAccount(db: Db, tenant: string, name: string): Promise<boolean> {
  const rows = await db`DELETE FROM accounts WHERE tenant = ${tenant} AND name = ${name} RETURNING name`;
  return rows.length > 0;
}

/** Campaigns of the account that are not finished: an account in use cannot be deleted. */
export async function activeCampaignsOf(db: Db, tenant: string, name: string): Promise<number> {
  const [row] = await db<{ n: number }[]>`
    SELECT count(*)::int AS n FROM campaigns
    WHERE tenant = ${tenant} AND account = ${name}
      AND status <> ALL(${FINAL_CAMPAIGN_STATUSES as CampaignStatus[]})`;
  return row?.n ?? 0;
}

/**
 * Replaces the sealed OAuth2 secrets alone (a rotated refresh token), unless the account changed
 * since `seen` (its new settings win); updated_at stays, so workers keep their transports.
 */
async function storeOAuth2Secrets(db: Db, at: { tenant: string; name: string; seen: Date }, sealed: string): Promise<boolean> {
  const rows = await db`
    UPDATE accounts SET oauth2_secrets = ${sealed}
    WHERE tenant = ${at.tenant} AND name = ${at.name} AND date_trunc('milliseconds', updated_at) = ${at.seen} AND oauth2 IS NOT NULL
    RETURNING name`;
  return rows.length > 0;
}

type SealedSecrets = { tenant: string; name: string; smtpPassword: string | null; imapPassword: string | null; oauth2Secrets: string | null };

/** Every stored account's sealed secrets (passwords, OAuth2), locked for update: a reseal moves all of them or none. */
export async function lockSealedSecrets(db: Db): Promise<SealedSecrets[]> {
  return db<SealedSecrets[]>`
    SELECT tenant, name, smtp_password, imap_password, oauth2_secrets FROM accounts ORDER BY tenant, name FOR UPDATE`;
}

export async function setSealedSecrets(db: Db, tenant: string, name: string, sealed: { smtp: string | null; imap: string | null; oauth2: string | null }): Promise<void> {
  await db`UPDATE accounts SET smtp_password = ${sealed.smtp}, imap_password = ${sealed.imap}, oauth2_secrets = ${sealed.oauth2} WHERE tenant = ${tenant} AND name = ${name}`;
}

/** The stored accounts as the mail layer reads them (mail/ never queries the database itself). */
export const accountStore = (db: Db) => ({
  get: (tenant: string, name: string) => getAccount(db, tenant, name),
  storeOAuth2Secrets: (at: { tenant: string; name: string; seen: Date }, sealed: string) => storeOAuth2Secrets(db, at, sealed),
});
