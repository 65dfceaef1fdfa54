import type { SendWindow } from '../contract/send-window.js';
import type { ServerEndpoint } from '../config.js';
import { SecretBox } from '../crypto/secrets.js';
import type { AccountRow } from '../db/accounts.js';
import type { Logger } from '../logger.js';
import type { PrivateHostAllowance } from '../net/host-policy.js';
import { createSentFolderClient, type SentFolderClient } from './imap.js';
import { createTokenSource, type OAuth2Secrets, type TokenSource } from './oauth2.js';
import { createSmtpSender, type SmtpSender } from './smtp.js';

interface AccountLimits {
  messagesPerMinute?: number;
  messagesPerDay?: number;
  maxConnections: number;
  maxMessagesPerConnection?: number;
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
  // An OAuth2 account signs in as its mailbox unless the protocol names its own user.
  const endpoint = (server: { host: string; port: number; security: string; user?: string | null }, sealed: string | null, field: 'smtp' | 'imap'): ServerEndpoint => ({
    host: server.host,
    port: server.port,
    secure: server.security === 'tls',
    requireTls: server.security === 'starttls',
    user: server.user ?? row.oauth2?.user,
    pass: unseal(sealed, field),
  });
  const smtp = endpoint(row.smtp, row.smtpPassword, 'smtp');
  const imap: (ServerEndpoint & { sentFolder?: string; append: boolean }) | undefined = row.imap
    ? { ...endpoint(row.imap, row.imapPassword, 'imap'), sentFolder: row.imap.sentFolder, append: row.imap.append }
    : undefined;
  const oauth2 = row.oauth2 ? { settings: row.oauth2, secrets: JSON.parse(unseal(row.oauth2Secrets, 'oauth2') ?? '{}') as OAuth2Secrets } : undefined;
  return { smtp, imap, oauth2 };
}

/** Where stored accounts are read and a rotated refresh token is kept (PostgreSQL: db/accounts.ts). */
export interface AccountStore {
  /** The stored account's row as it stands now; undefined when there is none. */
  get(tenant: string, name: string): Promise<AccountRow | undefined>;
  /** Replaces the sealed OAuth2 secrets unless the account changed since `seen`. */
  storeOAuth2Secrets(at: { tenant: string; name: string; seen: Date }, sealed: string): Promise<boolean>;
}

/** The account's access-token source, when it signs in with OAuth2 (one for SMTP and IMAP). */
export function tokenSourceOf(
  e: ReturnType<typeof endpointsOf>,
  hostPolicy: PrivateHostAllowance,
  keep?: { store: AccountStore; box?: SecretBox; row: AccountRow },
): TokenSource | undefined {
  if (!e.oauth2) return undefined;
  const { secrets } = e.oauth2;
  // A rotated refresh token replaces the stored one, sealed; updated_at stays, so transports live on.
  if (!keep?.box) return createTokenSource(e.oauth2.settings, secrets, { hostPolicy });
  const { store, box, row } = keep;
  const context = sealContext(row.tenant, row.name, 'oauth2');
  return createTokenSource(e.oauth2.settings, secrets, {
    hostPolicy,
    onRefreshToken: async (refreshToken) => {
      await store.storeOAuth2Secrets({ tenant: row.tenant, name: row.name, seen: row.updatedAt }, box.seal(JSON.stringify({ ...secrets, refreshToken }), context));
    },
    storedRefreshToken: async () => {
      const now = await store.get(row.tenant, row.name);
      return now?.oauth2Secrets ? (JSON.parse(box.open(now.oauth2Secrets, context)) as OAuth2Secrets).refreshToken : undefined;
    },
  });
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
      /** The stored accounts (and where a rotated refresh token goes). */
      store: AccountStore;
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
    const row = await this.o.store.get(tenant, name);
    if (!row) throw new UnknownAccountError(`account "${name}" does not exist`);
    const key = `${tenant}/${name}`;
    const cached = this.cache.get(key);
    if (cached && cached.updatedAt === row.updatedAt.getTime()) return cached.live;
    if (cached) void this.closeOne(cached.live);
    const box = this.o.masterKey ? new SecretBox(this.o.masterKey, this.o.previousMasterKeys) : undefined;
    const endpoints = endpointsOf(row, box);
    const { smtp, imap } = endpoints;
    const hostPolicy = this.o.hostPolicy ?? 'none';
    const oauth2 = tokenSourceOf(endpoints, hostPolicy, { store: this.o.store, box, row });
    const maxConnections = row.limits.maxConnections ?? 3;
    const { maxMessagesPerConnection } = row.limits;
    const live: LiveAccount = {
      name,
      smtp: createSmtpSender(smtp, { maxConnections, maxMessagesPerConnection, tlsInsecure: this.o.tlsInsecure, hostPolicy, oauth2 }),
      sentFolder:
        imap && imap.append
          ? createSentFolderClient(imap, { folder: imap.sentFolder, tlsInsecure: this.o.tlsInsecure, logger: this.o.logger, hostPolicy, oauth2 })
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
