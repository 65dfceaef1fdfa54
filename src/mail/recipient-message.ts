import type { CampaignRow } from '../db/campaigns.js';
import type { RecipientRow } from '../db/recipients.js';
import type { S3Store } from '../s3/client.js';
import type { UnsubscribeLinks } from '../unsubscribe/token.js';
import { buildMessage, CampaignRenderer, type RenderedParts } from './message.js';
import type { MessageIds } from './message-id.js';
import type { Templates } from './templates.js';

/** What putting a message together depends on in this process: its template limits, its link keys and its Message-ID keys. */
export interface MessageKit {
  templates: Templates;
  unsubscribeLinks: UnsubscribeLinks;
  messageIds: MessageIds;
}

export interface RecipientMessage {
  messageId: string;
  date: Date;
  parts: RenderedParts;
  attachments: { filename: string; size: number }[];
  /** SMTP envelope recipients: To, Cc and Bcc. */
  envelopeTo: string[];
  raw: Buffer;
  sha256: string;
}

type PartsCampaign = Pick<CampaignRow, 'id' | 'tenant' | 'definition' | 'linkKey'>;
type PartsRecipient = Pick<RecipientRow, 'id' | 'email' | 'messageId' | 'threadMessageId'> & Partial<Pick<RecipientRow, 'threadReferences'>>;

/** References of a threaded message: the stored chain, or for rows made before it was kept, the parent alone. */
const threadReferences = (r: PartsRecipient): string[] => (r.threadReferences ?? r.threadMessageId ?? '').split(' ').filter(Boolean);

/**
 * What a recipient's rendered parts become in the message: its Message-ID, the In-Reply-To of a
 * threaded follow-up, the List-Unsubscribe headers signed with the campaign's link key, or for a
 * test send the test address in place of every real one. The send, the preview, the test send
 * and the build's size check all take their headers from here.
 */
export function messageParts(
  campaign: PartsCampaign,
  r: PartsRecipient,
  rendered: RenderedParts,
  kit: Pick<MessageKit, 'unsubscribeLinks' | 'messageIds'>,
  o: { messageId?: string; test?: { to: string; id: string } } = {},
): { parts: RenderedParts; messageId: string } {
  let parts = rendered;
  let messageId = o.messageId ?? r.messageId ?? kit.messageIds.idFor(campaign.id, r.id, campaign.definition.from.address);
  // A threaded follow-up answers the message this recipient got from the campaign it follows up,
  // and names the whole conversation before it (a reminder of a reminder names the original too).
  if (r.threadMessageId) parts = { ...parts, inReplyTo: r.threadMessageId, references: threadReferences(r) };
  if (o.test) {
    parts = { ...parts, to: { address: o.test.to }, cc: [], bcc: [] };
    messageId = messageId.replace(/^</, `<${o.test.id}.`);
  } else if (campaign.definition.listUnsubscribe) {
    // A test send carries no link: it would unsubscribe the real recipient, not the tester.
    const subject = { tenant: campaign.tenant, campaignId: campaign.id, recipientId: r.id, email: r.email, linkKey: campaign.linkKey };
    parts = { ...parts, headers: kit.unsubscribeLinks.headers(subject, campaign.definition.listUnsubscribe.mailto) };
  }
  return { parts, messageId };
}

/**
 * The one way a recipient's message is put together: the send, the Sent copy, the preview and
 * the test send all call this, so they carry the same bytes. Attachment bytes come only from S3.
 * `test` replaces every real To/Cc/Bcc address with one test address, and marks the Message-ID
 * with the test's id so it never equals the real message's.
 *
 * The Message-ID is the one the message was first attempted with, when it was (`messageId`, from
 * the ledger, else the recipient's): a retry, the Sent copy and its dedupe never see another id,
 * even when the id was made before ids carried a MAC or under an older key.
 */
export async function composeRecipientMessage(
  campaign: CampaignRow,
  r: RecipientRow,
  s3: S3Store,
  kit: MessageKit,
  o: { date?: Date; messageId?: string; test?: { to: string; id: string }; renderMs?: number } = {},
): Promise<RecipientMessage> {
  const date = o.date ?? campaign.messageDate ?? new Date(Math.floor(Date.now() / 1000) * 1000);
  const rendered = await new CampaignRenderer(campaign.definition, kit.templates).render(r, { renderMs: o.renderMs });
  const { parts, messageId } = messageParts(campaign, r, rendered, kit, o);
  const contents = await Promise.all(
    (r.attachments ?? []).map(async (a) => ({ filename: a.filename, content: await s3.read(a.bucket, a.key, a.etag) })),
  );
  const built = await buildMessage(parts, messageId, date, contents);
  return {
    messageId,
    date,
    parts,
    attachments: contents.map((a) => ({ filename: a.filename, size: a.content.length })),
    envelopeTo: [parts.to.address, ...parts.cc, ...parts.bcc],
    ...built,
  };
}
