import { recipientInputSchema, type CampaignDefinition } from '../contract/campaign.js';
import type { BuildStatus } from '../contract/statuses.js';
import type { NewRecipient, ResolvedAttachment } from '../db/recipients.js';
import { attachmentsSizeBound, CampaignRenderer, messageSize, partsSizeBound, type RecipientFields, type RenderedParts } from '../mail/message.js';
import { TemplateRenderError } from '../mail/templates.js';
import type { S3Store } from '../s3/client.js';
import { AttachmentResolver, type RenderedKey } from './attachments.js';
import { messageParts, type MessageKit } from '../mail/recipient-message.js';

/**
 * A list entry assessed as far as it can be without its attachments (RecipientAssessor.prepare):
 * its shape and addresses checked, its templates rendered, its message's headers made.
 */
export interface PreparedRecipient {
  id: number;
  /** An entry that is not a recipient: already assessed in full. */
  done?: NewRecipient;
  fields?: RecipientFields;
  threadMessageId: string | null;
  threadReferences: string | null;
  /** Reasons found so far (a template that does not render). */
  blocked: string[];
  /** Its attachment keys, rendered. */
  keys: RenderedKey[];
  /** The parts and Message-ID the send will use, and their share of the size bound; absent when a template did not render. */
  sent?: { parts: RenderedParts; messageId: string; bound: number };
  /** About how many bytes of text it holds, to bound how many wait for their attachments. */
  textBytes: number;
}

/**
 * Gives one list entry its build status and reasons: the entry's shape and addresses, its
 * templates rendered, its attachments looked up, and the size of the message it would send.
 */
export class RecipientAssessor {
  private readonly renderer: CampaignRenderer;
  private readonly attachments: AttachmentResolver;

  /** Throws when the campaign's templates or attachment keys do not compile. */
  constructor(
    private readonly o: {
      campaignId: string;
      /** The campaign's tenant, which its unsubscribe links are signed for. */
      tenant: string;
      definition: CampaignDefinition;
      /** The campaign's own key for its unsubscribe links (null for campaigns made before there was one). */
      linkKey: Buffer | null;
      s3: S3Store;
      /** The Date header every message of the campaign carries. */
      messageDate: Date;
      maxMessageBytes: number;
      kit: MessageKit;
    },
  ) {
    this.renderer = new CampaignRenderer(o.definition, o.kit.templates);
    this.attachments = new AttachmentResolver(o.definition.attachments ?? [], o.s3, { templates: o.kit.templates });
  }

  /** More recipients follow than one batch: attachment folders are worth listing once from now on. */
  expectLongList(): void {
    this.attachments.expectMany();
  }

  /** `threadMessageId`, `threadReferences`: the Message-ID a threaded follow-up's message answers and its References, sized with it and kept. */
  async assess(id: number, raw: unknown, threadMessageId: string | null = null, threadReferences: string | null = null): Promise<NewRecipient> {
    return this.complete(await this.prepare(id, raw, threadMessageId, threadReferences));
  }

  /**
   * The part of the assessment that does not depend on the attachments, so that entries can be
   * rendered while an attachment folder is still being listed; `complete` finishes it.
   */
  async prepare(id: number, raw: unknown, threadMessageId: string | null = null, threadReferences: string | null = null): Promise<PreparedRecipient> {
    const parsed = recipientInputSchema.safeParse(raw);
    if (!parsed.success) return { id, done: invalidEntry(id, raw, parsed.error.issues), threadMessageId, threadReferences, blocked: [], keys: [], textBytes: 0 };
    const fields: RecipientFields = {
      id,
      email: parsed.data.email,
      name: parsed.data.name ?? null,
      vars: parsed.data.vars ?? {},
      cc: parsed.data.cc ?? [],
      bcc: parsed.data.bcc ?? [],
    };
    const blocked: string[] = [];
    const rendered = await this.render(fields, blocked);
    const keys = this.attachments.keysFor(this.renderer.scopeFor(fields));
    if (!rendered) return { id, fields, threadMessageId, threadReferences, blocked, keys, textBytes: 0 };
    const { parts, messageId } = this.asSent(id, fields.email, { threadMessageId, threadReferences }, rendered);
    const textBytes = (parts.subject?.length ?? 0) + (parts.text?.length ?? 0) + (parts.html?.length ?? 0);
    return { id, fields, threadMessageId, threadReferences, blocked, keys, sent: { parts, messageId, bound: partsSizeBound(parts, messageId) }, textBytes };
  }

  /** The attachments of a prepared entry looked up, its message sized: the entry as it is written. */
  async complete(p: PreparedRecipient): Promise<NewRecipient> {
    if (p.done) return p.done;
    const { id, threadMessageId, threadReferences } = p;
    const fields = p.fields!;
    const blocked = [...p.blocked];
    const found = await this.attachments.find(p.keys);
    blocked.push(...found.blocked);
    if (p.sent) blocked.push(...(await this.sizeProblems(p.sent, found.found)));
    const status: BuildStatus = blocked.length ? 'blocked' : found.review.length ? 'needs_review' : found.warnings.length ? 'warning' : 'ready';
    return {
      id,
      email: fields.email,
      name: fields.name,
      vars: fields.vars,
      cc: fields.cc ?? [],
      bcc: fields.bcc ?? [],
      attachments: found.found,
      buildStatus: status,
      buildReasons: [...blocked, ...found.review, ...found.warnings],
      threadMessageId,
      threadReferences,
    };
  }

  /** The rendered parts, or undefined with the reason added to `blocked`. */
  private async render(fields: RecipientFields, blocked: string[]): Promise<RenderedParts | undefined> {
    try {
      return await this.renderer.render(fields);
    } catch (err) {
      if (!(err instanceof TemplateRenderError)) throw err;
      blocked.push(err.overLimit ? `template-limit: ${err.message}` : `missing-variable: ${err.message}`);
      return undefined;
    }
  }

  /**
   * The parts and Message-ID the send will put together for this recipient (messageParts: its
   * List-Unsubscribe headers, Message-ID, and a threaded follow-up's In-Reply-To and References).
   */
  private asSent(id: number, email: string, thread: Pick<NewRecipient, 'threadMessageId' | 'threadReferences'>, rendered: RenderedParts) {
    const { campaignId, tenant, definition, linkKey, kit } = this.o;
    return messageParts({ id: campaignId, tenant, definition, linkKey }, { id, email, messageId: null, threadMessageId: thread.threadMessageId ?? null, threadReferences: thread.threadReferences ?? null }, rendered, kit);
  }

  /** The size of the very bytes the send will build: same parts, Message-ID and date. */
  private async sizeProblems({ parts, messageId, bound }: { parts: RenderedParts; messageId: string; bound: number }, found: ResolvedAttachment[]): Promise<string[]> {
    const { s3, messageDate, maxMessageBytes } = this.o;
    // Far under the limit (nearly every message): known without building the message (messageSizeBound).
    if (bound + attachmentsSizeBound(found) <= maxMessageBytes) return [];
    const size = await messageSize(
      parts,
      messageId,
      messageDate,
      found.map((a) => ({ filename: a.filename, size: a.size, load: () => s3.read(a.bucket, a.key, a.etag) })),
    );
    return size > maxMessageBytes ? [`too-large: the message is ${size} bytes, over the limit of ${maxMessageBytes}`] : [];
  }
}

/** A list entry that is not a recipient: blocked with what is wrong with it. */
function invalidEntry(id: number, raw: unknown, issues: { path: PropertyKey[]; message: string }[]): NewRecipient {
  const email = typeof (raw as { email?: unknown })?.email === 'string' ? (raw as { email: string }).email : '';
  return { id, email, name: null, vars: {}, cc: [], bcc: [], attachments: [], buildStatus: 'blocked', buildReasons: recipientProblems(raw, issues) };
}

/** Why a list entry is not a recipient: an address problem, or an entry of the wrong shape. */
function recipientProblems(raw: unknown, issues: { path: PropertyKey[]; message: string }[]): string[] {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    const what = raw === null ? 'null' : Array.isArray(raw) ? 'an array' : `a ${typeof raw}`;
    return [`invalid-recipient: the list entry is ${what}, not an object with an "email"`];
  }
  return issues.map((x) => {
    const path = x.path.map(String).join('.');
    const code = ['email', 'cc', 'bcc'].includes(String(x.path[0])) ? 'invalid-address' : 'invalid-recipient';
    return `${code}: ${path || 'recipient'} ${x.message}`;
  });
}
