import type { WorkerConfig } from '../config.js';
import type { ActivityDeps } from '../activities/index.js';
import { createSql } from '../db/sql.js';
import type { Logger } from '../logger.js';
import { createSentFolderClient } from '../mail/imap.js';
import { createSmtpSender } from '../mail/smtp.js';

/** The worker's connections to Postgres, SMTP and IMAP, built from its configuration. */
export function createWorkerDeps(config: WorkerConfig, logger: Logger): ActivityDeps & { close(): Promise<void> } {
  const sql = createSql(config.DATABASE_URL);
  const smtp = createSmtpSender(config.SMTP_URL, {
    maxConnections: config.SMTP_MAX_CONNECTIONS,
    tlsInsecure: config.TLS_INSECURE,
  });
  const sentFolder = config.IMAP_URL
    ? createSentFolderClient(config.IMAP_URL, { folder: config.IMAP_SENT_FOLDER, tlsInsecure: config.TLS_INSECURE, logger })
    : undefined;
  return {
    sql,
    smtp,
    sentFolder,
    logger,
    unknownPolicy: config.DELIVERY_UNKNOWN_POLICY,
    account: {
      name: 'default',
      messagesPerMinute: config.SMTP_MESSAGES_PER_MINUTE,
      messagesPerDay: config.SMTP_MESSAGES_PER_DAY,
    },
    async close() {
      smtp.close();
      await sentFolder?.close();
      await sql.end({ timeout: 5 });
    },
  };
}
