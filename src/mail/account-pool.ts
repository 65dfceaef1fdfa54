import type { SendWindow } from '../contract/send-window.js';
import type { ServerEndpoint } from '../config.js';
import { SecretBox } from '../crypto/secrets.js';
import type { AccountRow } from '../db/accounts.js';
import type { Logger } from '../logger.js';
import type { PrivateHostAllowance } from '../net/host-policy.js';
import { createSentFolderClient, type SentFolderClient } from './imap.js';
import { createSmtpSender, type SmtpSender } from './smtp.js';

export interface AccountLimits {
  messagesPerMinute?: number;
  messagesPerDay?: number;
  maxConnections: number;
  sendWindow?: SendWindow;
}

/** An account ready to send: its pooled SMTP transport, its Sent folder (if copies are on), its limits. */
export interface LiveAccount {
  name: string;
  smtp: SmtpSender;
  sentFolder?: SentFolderClient;
  limits: AccountLimits;
}

export class UnknownAccountError extends Error {
  override name = 'UnknownAccountError';
}

/** The SMTP and IMAP endpoints of a stored account, passwords unsealed. */
export function endpointsOf(row: AccountRow, box: SecretBox | undefined) {
  const unseal = (sealed: string | null, field: string) => {
    if (!sealed) return undefined;
    if (!box) throw new Error('MASTER_KEY is not configured: stored account passwords cannot be read');
    return box.open(sealed, sealContext(row.tenant, row.name, field));
  };
  const smtp: ServerEndpoint = {
    host: row.smtp.host,
    port: row.smtp.port,
    secure: row.smtp.security === 'tls',
    requireTls: row.smtp.security === 'starttls',
    user: row.smtp.user,
    pass: unseal(row.smtpPassword, 'smtp'),
  };
  const imap: (ServerEndpoint & { sentFolder?: string; append: boolean }) | undefined = row.imap
    ? {
        host: row.imap.host,
        port: row.imap.port,
        secure: row.imap.security === 'tls',
        requireTls: row.imap.security === 'starttls',
        user: row.imap.user,
        pass: unseal(row.imapPassword, 'imap'),
        sentFolder: row.imap.sentFolder,
        append: row.imap.append,
      }
    : undefined;
  return { smtp, imap };
}

export const sealContext = (tenant: string, name: string, field: string) => `account:${tenant}/${name}:${field}`;

/**
 * Accounts a worker sends through: `default` from its configuration, the others as `storedAccount`
 * reads them (from Postgres), each with one pooled transport per worker, rebuilt when the account
 * changes.
 */
export class AccountPool {
  private readonly cache = new Map<string, { updatedAt: number; live: LiveAccount }>();

  constructor(
    private readonly o: {
      /** The stored account's row as it stands now; undefined when there is none. */
      storedAccount: (tenant: string, name: string) => Promise<AccountRow | undefined>;
      logger: Logger;
      tlsInsecure: boolean;
      masterKey?: string;
      previousMasterKeys?: string[];
      /** Inward addresses stored (tenant) accounts may reach; the configured default account is the operator's own. */
      hostPolicy?: PrivateHostAllowance;
      defaultAccount: LiveAccount;
    },
  ) {}

  get default(): LiveAccount {
    return this.o.defaultAccount;
  }

  async get(tenant: string, name: string): Promise<LiveAccount> {
    if (name === 'default') return this.o.defaultAccount;
    const row = await this.o.storedAccount(tenant, name);
    if (!row) throw new UnknownAccountError(`account "${name}" does not exist`);
    const key = `${tenant}/${name}`;
    const cached = this.cache.get(key);
    if (cached && cached.updatedAt === row.updatedAt.getTime()) return cached.live;
    if (cached) void this.closeOne(cached.live);
    const { smtp, imap } = endpointsOf(row, this.o.masterKey ? new SecretBox(this.o.masterKey, this.o.previousMasterKeys) : undefined);
    const maxConnections = row.limits.maxConnections ?? 3;
    const live: LiveAccount = {
      name,
      smtp: createSmtpSender(smtp, { maxConnections, tlsInsecure: this.o.tlsInsecure, hostPolicy: this.o.hostPolicy ?? 'none' }),
      sentFolder:
        imap && imap.append
          ? createSentFolderClient(imap, { folder: imap.sentFolder, tlsInsecure: this.o.tlsInsecure, logger: this.o.logger, hostPolicy: this.o.hostPolicy ?? 'none' })
          : undefined,
      limits: { ...row.limits, maxConnections },
    };
    this.cache.set(key, { updatedAt: row.updatedAt.getTime(), live });
    return live;
  }

  private async closeOne(a: LiveAccount): Promise<void> {
    a.smtp.close();
    await a.sentFolder?.close();
  }

  async close(): Promise<void> {
    await this.closeOne(this.o.defaultAccount);
    for (const { live } of this.cache.values()) await this.closeOne(live);
    this.cache.clear();
  }
}
