import { createHash } from 'node:crypto';
import MailComposer from 'nodemailer/lib/mail-composer';
import { detectMimeType } from 'nodemailer/lib/mime-funcs';
import type { CampaignDefinition, Mailbox } from '../contract/campaign.js';
import { htmlToText } from './html-text.js';
import { renderTemplate, type CompiledTemplate, type Templates } from './templates.js';

export interface RecipientFields {
  id: number;
  email: string;
  name: string | null;
  vars: Record<string, unknown>;
  cc?: string[];
  bcc?: string[];
}

export interface AttachmentContent {
  filename: string;
  content: Buffer;
}

export interface RenderedParts {
  from: Mailbox;
  to: Mailbox;
  cc: string[];
  bcc: string[];
  replyTo?: string;
  subject: string;
  text?: string;
  html?: string;
  /** Extra header fields, in order (List-Unsubscribe and List-Unsubscribe-Post: src/unsubscribe). */
  headers?: { key: string; value: string }[];
  /** The Message-ID this message answers (a threaded follow-up): written as In-Reply-To. */
  inReplyTo?: string;
  /** The conversation it belongs to, oldest first and ending with `inReplyTo`: written as References (RFC 5322 §3.6.4). */
  references?: string[];
}

/** A campaign's templates, compiled once and rendered per recipient. */
export class CampaignRenderer {
  private readonly subject: CompiledTemplate;
  private readonly text?: CompiledTemplate;
  private readonly html?: CompiledTemplate;

  constructor(
    private readonly definition: Pick<CampaignDefinition, 'from' | 'subject' | 'text' | 'html' | 'vars'> &
      Partial<Pick<CampaignDefinition, 'cc' | 'bcc' | 'replyTo'>>,
    private readonly templates: Templates,
  ) {
    this.subject = templates.compile(definition.subject, 'plain');
    if (definition.text !== undefined) this.text = templates.compile(definition.text, 'plain');
    if (definition.html !== undefined) this.html = templates.compile(definition.html, 'html');
  }

  /** The variables a recipient's templates (and attachment keys) see. */
  scopeFor(r: RecipientFields): Record<string, unknown> {
    const scope: Record<string, unknown> = { ...(this.definition.vars ?? {}), ...r.vars, email: r.email };
    if (r.name !== null) scope.name = r.name;
    return scope;
  }

  /**
   * Throws TemplateRenderError naming the first variable the recipient lacks. `renderMs`: the time
   * all of this recipient's templates may take (default: the templates' render limit).
   */
  async render(r: RecipientFields, o: { renderMs?: number } = {}): Promise<RenderedParts> {
    const scope = this.scopeFor(r);
    const budget = this.templates.budget(o.renderMs);
    const html = this.html && renderTemplate(this.html, scope, budget);
    const subject = renderTemplate(this.subject, scope, budget);
    // Only html given: the text part is derived from it (off this thread, under its own limits),
    // so plain-text readers see the same words.
    const text = this.text ? renderTemplate(this.text, scope, budget) : html !== undefined ? await htmlToText(html) : undefined;
    return {
      from: this.definition.from,
      to: { name: r.name ?? undefined, address: r.email },
      cc: [...(this.definition.cc ?? []), ...(r.cc ?? [])],
      bcc: [...(this.definition.bcc ?? []), ...(r.bcc ?? [])],
      replyTo: this.definition.replyTo,
      subject,
      text,
      html,
    };
  }
}

export interface BuiltMessage {
  raw: Buffer;
  sha256: string;
}

/**
 * Builds the RFC 5322 bytes. Given the same parts, Message-ID and date it returns the same bytes:
 * MIME boundaries are derived from the Message-ID, so a retry or the Sent copy rebuilds exactly
 * what was sent. Content never pulls in local files or URLs.
 */
export async function buildMessage(
  parts: RenderedParts,
  messageId: string,
  date: Date,
  attachments: AttachmentContent[] = [],
): Promise<BuiltMessage> {
  const composer = new MailComposer({
    from: parts.from,
    to: parts.to,
    cc: parts.cc.length ? parts.cc : undefined,
    // Bcc addresses go in the envelope only; the header is never written.
    bcc: parts.bcc.length ? parts.bcc : undefined,
    replyTo: parts.replyTo,
    inReplyTo: parts.inReplyTo,
    references: parts.references,
    subject: parts.subject,
    // CRLF throughout: SMTP would turn bare LFs into CRLF on the wire, and the sent bytes must
    // be exactly the bytes built (and previewed) here.
    text: parts.text?.replace(/\r?\n/g, '\r\n'),
    html: parts.html?.replace(/\r?\n/g, '\r\n'),
    attachments: attachments.map((a) => ({ filename: a.filename, content: a.content })),
    messageId,
    date,
    headers: parts.headers,
    baseBoundary: createHash('sha256').update(messageId).digest('hex').slice(0, 16),
    boundaryPrefix: '--_cm',
    disableFileAccess: true,
    disableUrlAccess: true,
  });
  const raw = await composer.compile().build();
  return { raw, sha256: createHash('sha256').update(raw).digest('hex') };
}

/** Bytes of `n` bytes in base64 as the composer writes it: 76-character lines joined by CRLF. */
function base64Length(n: number): number {
  if (n === 0) return 0;
  const chars = 4 * Math.ceil(n / 3);
  return chars + 2 * (Math.ceil(chars / 76) - 1);
}

export interface SizedAttachment {
  filename: string;
  size: number;
  /** The bytes, asked for only when the size alone cannot tell the encoded length. */
  load: () => Promise<Buffer>;
}

/**
 * The exact size of the message buildMessage would return, without fetching attachment bytes:
 * an attachment is base64 in the message, whose length follows from its size alone, so the
 * message is built with empty attachments and their encoded lengths added. A message/* attachment
 * goes in unencoded (line endings normalised), so its bytes are fetched and built for real.
 */
export async function messageSize(
  parts: RenderedParts,
  messageId: string,
  date: Date,
  attachments: SizedAttachment[],
): Promise<number> {
  let encoded = 0;
  const contents: AttachmentContent[] = [];
  for (const a of attachments) {
    if (/^message\//i.test(detectMimeType(a.filename))) {
      contents.push({ filename: a.filename, content: await a.load() });
    } else {
      contents.push({ filename: a.filename, content: Buffer.alloc(0) });
      encoded += base64Length(a.size);
    }
  }
  const built = await buildMessage(parts, messageId, date, contents);
  return built.raw.length + encoded;
}

/** Bytes every message may spend on what its parts do not say: fixed headers, MIME boundaries and part headers. */
const SIZE_BOUND_FIXED = 4096;
/** Bytes each address, header field, attachment and the like may add around its text (a folded encoded-word's delimiters, parameters). */
const SIZE_BOUND_PER_ITEM = 128;
/**
 * Output bytes one input byte of text may become at most: CRLF normalisation (2), then
 * quoted-printable (3, plus a soft break every 73), encoded-words in headers, punycode domains and
 * RFC 2231 filenames all stay under it with room to spare.
 */
const SIZE_BOUND_PER_BYTE = 16;

/**
 * A size the message buildMessage would return cannot exceed, in microseconds and without building
 * it: a message under the limit by this bound is under it exactly, so only a message near the
 * limit is built to be measured (messageSize). Infinity with a message/* attachment, whose bytes
 * go in unencoded and are only known once fetched.
 */
export function messageSizeBound(parts: RenderedParts, messageId: string, attachments: { filename: string; size: number }[]): number {
  return partsSizeBound(parts, messageId) + attachmentsSizeBound(attachments);
}

/** messageSizeBound's share of the parts and Message-ID: known before the attachments are. */
export function partsSizeBound(parts: RenderedParts, messageId: string): number {
  let bytes = 0;
  let items = 0;
  const text = (...values: (string | undefined | null)[]) => {
    for (const v of values) {
      if (!v) continue;
      bytes += Buffer.byteLength(v, 'utf8');
      items++;
    }
  };
  text(parts.subject, parts.text, parts.html, parts.replyTo, parts.inReplyTo, ...(parts.references ?? []), messageId);
  text(parts.from.name, parts.from.address, parts.to.name, parts.to.address, ...parts.cc);
  for (const h of parts.headers ?? []) text(h.key, h.value);
  return SIZE_BOUND_FIXED + SIZE_BOUND_PER_ITEM * items + SIZE_BOUND_PER_BYTE * bytes;
}

/** messageSizeBound's share of the attachments: Infinity with a message/* one. */
export function attachmentsSizeBound(attachments: { filename: string; size: number }[]): number {
  let bound = 0;
  for (const a of attachments) {
    if (/^message\//i.test(detectMimeType(a.filename))) return Infinity;
    // Named twice: Content-Type's name and Content-Disposition's filename.
    if (a.filename) bound += 2 * (SIZE_BOUND_PER_ITEM + SIZE_BOUND_PER_BYTE * Buffer.byteLength(a.filename, 'utf8'));
    bound += base64Length(a.size);
  }
  return bound;
}
