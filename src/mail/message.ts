import { createHash } from 'node:crypto';
import { convert as htmlToText } from 'html-to-text';
import MailComposer from 'nodemailer/lib/mail-composer';
import type { CampaignDefinition, Mailbox } from '../contract/campaign.js';
import { compileTemplate, renderTemplate, type CompiledTemplate } from './templates.js';

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
}

/** A campaign's templates, compiled once and rendered per recipient. */
export class CampaignRenderer {
  private readonly subject: CompiledTemplate;
  private readonly text?: CompiledTemplate;
  private readonly html?: CompiledTemplate;

  constructor(
    private readonly definition: Pick<CampaignDefinition, 'from' | 'subject' | 'text' | 'html' | 'vars'> &
      Partial<Pick<CampaignDefinition, 'cc' | 'bcc' | 'replyTo'>>,
  ) {
    this.subject = compileTemplate(definition.subject, 'plain');
    if (definition.text !== undefined) this.text = compileTemplate(definition.text, 'plain');
    if (definition.html !== undefined) this.html = compileTemplate(definition.html, 'html');
  }

  /** The variables a recipient's templates (and attachment keys) see. */
  scopeFor(r: RecipientFields): Record<string, unknown> {
    const scope: Record<string, unknown> = { ...(this.definition.vars ?? {}), ...r.vars, email: r.email };
    if (r.name !== null) scope.name = r.name;
    return scope;
  }

  /** Throws TemplateRenderError naming the first variable the recipient lacks. */
  render(r: RecipientFields): RenderedParts {
    const scope = this.scopeFor(r);
    const html = this.html && renderTemplate(this.html, scope);
    // Only html given: the text part is derived from it, so plain-text readers see the same words.
    const text = this.text ? renderTemplate(this.text, scope) : html !== undefined ? htmlToText(html, { wordwrap: 76 }) : undefined;
    return {
      from: this.definition.from,
      to: { name: r.name ?? undefined, address: r.email },
      cc: [...(this.definition.cc ?? []), ...(r.cc ?? [])],
      bcc: [...(this.definition.bcc ?? []), ...(r.bcc ?? [])],
      replyTo: this.definition.replyTo,
      subject: renderTemplate(this.subject, scope),
      text,
      html,
    };
  }
}

/**
 * The Message-ID of a campaign's message to one recipient. It depends only on the campaign, the
 * recipient and the content version, so every attempt and the Sent copy carry the same one.
 */
export function messageIdFor(campaignId: string, recipientId: number, fromAddress: string, version = 1): string {
  const domain = fromAddress.split('@').pop() || 'campaign-mailer.invalid';
  return `<${campaignId}.${recipientId}.v${version}@${domain}>`;
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
    subject: parts.subject,
    // CRLF throughout: SMTP would turn bare LFs into CRLF on the wire, and the sent bytes must
    // be exactly the bytes built (and previewed) here.
    text: parts.text?.replace(/\r?\n/g, '\r\n'),
    html: parts.html?.replace(/\r?\n/g, '\r\n'),
    attachments: attachments.map((a) => ({ filename: a.filename, content: a.content })),
    messageId,
    date,
    baseBoundary: createHash('sha256').update(messageId).digest('hex').slice(0, 16),
    boundaryPrefix: '--_cm',
    disableFileAccess: true,
    disableUrlAccess: true,
  });
  const raw = await composer.compile().build();
  return { raw, sha256: createHash('sha256').update(raw).digest('hex') };
}
