import type { ActivityDeps } from '../activities/index.js';
import type { WorkerConfig } from '../config.js';
import { accountStore } from '../db/accounts.js';
import { createSql } from '../db/sql.js';
import type { Logger } from '../logger.js';
import { AccountPool } from '../mail/account-pool.js';
import { createSentFolderClient } from '../mail/imap.js';
import { createSmtpSender } from '../mail/smtp.js';
import { templatesFrom } from '../mail/templates.js';
import { unsubscribeLinksFrom } from '../unsubscribe/token.js';
import { messageIdsFrom } from '../mail/message-id.js';
import { createMetrics, type Metrics } from '../metrics.js';
import { createS3Store } from '../s3/client.js';

/** The worker's connections to Postgres, SMTP and IMAP, built from its configuration. */
export function createWorkerDeps(
  config: WorkerConfig,
  logger: Logger,
  metrics: Metrics = createMetrics(),
): ActivityDeps & { close(): Promise<void> } {
  const sql = createSql(config.DATABASE_URL);
  const accounts = new AccountPool({
    store: accountStore(sql),
    logger,
    tlsInsecure: config.TLS_INSECURE,
    masterKey: config.MASTER_KEY,
    previousMasterKeys: config.MASTER_KEY_PREVIOUS,
    hostPolicy: config.ALLOW_PRIVATE_HOSTS,
    defaultAccount: {
      name: 'default',
      smtp: createSmtpSender(config.SMTP_URL, { maxConnections: config.SMTP_MAX_CONNECTIONS, tlsInsecure: config.TLS_INSECURE }),
      sentFolder: config.IMAP_URL
        ? createSentFolderClient(config.IMAP_URL, { folder: config.IMAP_SENT_FOLDER, tlsInsecure: config.TLS_INSECURE, logger })
        : undefined,
      limits: {
        messagesPerMinute: config.SMTP_MESSAGES_PER_MINUTE || undefined,
        messagesPerDay: config.SMTP_MESSAGES_PER_DAY || undefined,
        maxConnections: config.SMTP_MAX_CONNECTIONS,
        sendWindow: config.SMTP_SEND_WINDOW,
      },
    },
  });
  const s3 = createS3Store(config);
  return {
    sql,
    s3,
    s3Locations: config.S3_ALLOWED_LOCATIONS,
    maxMessageBytes: config.MAX_MESSAGE_BYTES,
    maxRecipients: config.MAX_RECIPIENTS_PER_CAMPAIGN,
    metrics,
    templates: templatesFrom(config),
    unsubscribeLinks: unsubscribeLinksFrom(config),
    messageIds: messageIdsFrom(config),
    accounts,
    logger,
    unknownPolicy: config.DELIVERY_UNKNOWN_POLICY,
    bounceInbox: {
      defaultImap: config.IMAP_URL,
      masterKey: config.MASTER_KEY,
      previousMasterKeys: config.MASTER_KEY_PREVIOUS,
      tlsInsecure: config.TLS_INSECURE,
      hostPolicy: config.ALLOW_PRIVATE_HOSTS,
    },
    async close() {
      await accounts.close();
      s3.close();
      await sql.end({ timeout: 5 });
    },
  };
}
