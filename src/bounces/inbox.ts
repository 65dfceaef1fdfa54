import { Context } from '@temporalio/activity';
import { ImapFlow } from 'imapflow';
import type { ServerEndpoint } from '../config.js';
import { SecretBox } from '../crypto/secrets.js';
import { accountStore, getAccount } from '../db/accounts.js';
import { mailboxPosition, saveMailboxPosition } from '../db/bounces.js';
import type { Sql } from '../db/sql.js';
import { endpointsOf, tokenSourceOf } from '../mail/account-pool.js';
import { imapOptions } from '../mail/imap.js';
import type { MessageIds } from '../mail/message-id.js';
import type { PrivateHostAllowance } from '../net/host-policy.js';
import { deliveryReportOf, parseMail } from './dsn.js';
import { recordReport } from './record.js';
import { answerOf, recordAnswers } from './replies.js';

/** What the bounce check needs besides the database: the configured account's IMAP and how to open stored ones. */
export interface BounceInboxDeps {
  /** IMAP_URL: the INBOX of the `default` account. */
  defaultImap?: ServerEndpoint;
  masterKey?: string;
  previousMasterKeys?: string[];
  tlsInsecure: boolean;
  /** ALLOW_PRIVATE_HOSTS, for stored (tenant) accounts. */
  hostPolicy?: PrivateHostAllowance;
}

export interface BounceCheckResult {
  /** New messages read, bounces recorded, addresses suppressed. */
  read: number;
  bounces: number;
  suppressed: number;
  /** Recipients newly marked `replied`, and `auto_replied`; left out when none. */
  replies?: number;
  autoReplies?: number;
  /** Set when the account has no IMAP (nothing to read). */
  skipped?: string;
}

/** A bounce returns at most this much of the message it returns: its report and headers come first. */
const SOURCE_BYTES = 1024 * 1024;

/** The INBOX to read and, for an account that signs in with OAuth2, an access token to sign in with. */
async function endpointOf(sql: Sql, d: BounceInboxDeps, mailbox: string): Promise<{ endpoint: ServerEndpoint; accessToken?: string } | undefined> {
  if (mailbox === 'default') return d.defaultImap && { endpoint: d.defaultImap };
  const [tenant, name] = mailbox.split('/') as [string, string];
  const row = await getAccount(sql, tenant, name);
  if (!row?.imap) return undefined;
  const box = d.masterKey ? new SecretBox(d.masterKey, d.previousMasterKeys) : undefined;
  const endpoints = endpointsOf(row, box);
  if (!endpoints.imap) return undefined;
  // The same token source as sending: a rotated refresh token is kept for the sends too.
  const tokens = tokenSourceOf(endpoints, d.hostPolicy ?? 'none', { store: accountStore(sql), box, row });
  return { endpoint: endpoints.imap, accessToken: tokens ? (await tokens.get()).accessToken : undefined };
}

/**
 * Reads the INBOX messages that arrived since the last check (by UID, under the same UIDVALIDITY;
 * a new UIDVALIDITY starts over) and records the bounces and the answers (src/bounces/replies.ts)
 * among them. Read-only: nothing is
 * deleted, moved or flagged. The position is saved after every message, so a check that dies
 * part-way resumes where it stopped, and recording is idempotent, so nothing counts twice.
 */
export async function checkMailbox(sql: Sql, ids: MessageIds, d: BounceInboxDeps, mailbox: string): Promise<BounceCheckResult> {
  // Without MASTER_KEY Message-IDs carry no MAC, and a report naming one could be written by anyone.
  if (!ids.verifiable()) return { read: 0, bounces: 0, suppressed: 0, skipped: 'MASTER_KEY is not configured: no report can be attributed to a message' };
  const target = await endpointOf(sql, d, mailbox);
  if (!target) return { read: 0, bounces: 0, suppressed: 0, skipped: 'the account has no IMAP' };
  const client = new ImapFlow(
    imapOptions(target.endpoint, { tlsInsecure: d.tlsInsecure, hostPolicy: mailbox === 'default' ? undefined : (d.hostPolicy ?? 'none'), accessToken: target.accessToken }),
  );
  client.on('error', () => undefined); // surfaced by the command that fails
  await client.connect();
  try {
    const lock = await client.getMailboxLock('INBOX', { readOnly: true });
    try {
      return await readNew(sql, ids, client, mailbox);
    } finally {
      lock.release();
    }
  } finally {
    await client.logout().catch(() => client.close());
  }
}

async function readNew(sql: Sql, ids: MessageIds, client: ImapFlow, mailbox: string): Promise<BounceCheckResult> {
  const box = client.mailbox;
  if (!box) throw new Error('the INBOX is not open');
  const uidValidity = Number(box.uidValidity);
  const saved = await mailboxPosition(sql, mailbox);
  let lastUid = saved?.uidValidity === uidValidity ? saved.lastUid : 0;
  const result: BounceCheckResult = { read: 0, bounces: 0, suppressed: 0 };
  if (box.exists > 0 && (box.uidNext === undefined || Number(box.uidNext) > lastUid + 1)) {
    // `n:*` always answers the last message, even when its UID is below n: those are skipped.
    for await (const msg of client.fetch(`${lastUid + 1}:*`, { uid: true, source: { maxLength: SOURCE_BYTES } }, { uid: true })) {
      if (msg.uid <= lastUid) continue;
      const mail = msg.source ? await parseMail(msg.source).catch(() => undefined) : undefined;
      const report = mail && deliveryReportOf(mail);
      const answer = mail && !report ? answerOf(mail) : undefined;
      if (report) {
        const n = await recordReport(sql, ids, report, { mailbox, uidValidity, uid: msg.uid });
        result.bounces += n.bounces;
        result.suppressed += n.suppressed;
      } else if (answer) {
        const n = await recordAnswers(sql, ids, answer, mailbox);
        const key = answer.kind === 'replied' ? 'replies' : 'autoReplies';
        if (n > 0) result[key] = (result[key] ?? 0) + n;
      }
      result.read++;
      lastUid = msg.uid;
      await saveMailboxPosition(sql, mailbox, { uidValidity, lastUid });
      Context.current().heartbeat({ lastUid });
    }
  }
  await saveMailboxPosition(sql, mailbox, { uidValidity, lastUid });
  return result;
}
