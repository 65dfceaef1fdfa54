import { Refusal } from '../contract/refusal.js';
import type { CampaignRow } from '../db/campaigns.js';
import type { RecipientRow } from '../db/recipients.js';
import type { Sql } from '../db/sql.js';
import { composeRecipientMessage, type MessageKit, type RecipientMessage } from '../mail/recipient-message.js';
import { TemplateRenderError } from '../mail/templates.js';
import { ObjectChangedError, type S3Store } from '../s3/client.js';
import { LocationDeniedError, type S3Location } from '../s3/locations.js';
import { tenantS3 } from '../s3/tenant-s3.js';

// What a reviewer may look at before deciding: a recipient's exact message and its attachments,
// or the refusal that says why not.

export interface PreviewDeps extends MessageKit {
  sql: Sql;
  s3?: S3Store;
  s3Locations?: readonly S3Location[];
  /** Attachment bytes one preview may fetch from S3; milliseconds its templates may hold the event loop. */
  limits: { previewAttachmentBytes: number; previewRenderMs: number };
}

/**
 * An attachment the tenant may no longer read, or one changed since the build: the same refusal
 * wherever it is met (preview, download, test send), with what it means for the message.
 */
export function attachmentRefusal(kind: 'attachment-location' | 'attachment-changed', message: string, consequence: string, status: string): Refusal {
  return new Refusal(kind === 'attachment-location' ? 'forbidden' : 'conflict', `${kind}: ${message}; ${consequence}`, { status });
}

const NOT_SENT = "this recipient's message would not be sent";

/** The attachment errors of reading S3 as the tenant may read now, as refusals; anything else as it was. */
function asAttachmentRefusal(err: unknown, status: string): unknown {
  if (err instanceof LocationDeniedError) return attachmentRefusal('attachment-location', err.message, NOT_SENT, status);
  if (err instanceof ObjectChangedError) return attachmentRefusal('attachment-changed', err.message, NOT_SENT, status);
  return err;
}

const tooLarge = (what: string, bytes: number, limit: number, status: string) =>
  new Refusal('invalid', `preview-too-large: ${what} ${bytes} bytes, more than the ${limit} a preview may fetch (PREVIEW_MAX_ATTACHMENT_BYTES)`, { status });

/** The campaign's S3 store as its tenant may read it now: its locations may have been narrowed since the build. */
async function readerFor(deps: PreviewDeps, tenant: string): Promise<S3Store> {
  if (!deps.s3) throw new Refusal('unavailable', 'this API process has no S3 store to read attachments from');
  return tenantS3({ sql: deps.sql, s3: deps.s3, s3Locations: deps.s3Locations }, tenant);
}

/** The exact message a recipient would get, rendered within the preview's limits. */
export async function previewMessage(deps: PreviewDeps, c: CampaignRow, r: RecipientRow): Promise<RecipientMessage> {
  if (c.status === 'building') throw new Refusal('conflict', 'the campaign is still building', { status: c.status });
  const { previewAttachmentBytes, previewRenderMs } = deps.limits;
  const attachmentBytes = (r.attachments ?? []).reduce((sum, a) => sum + a.size, 0);
  if (attachmentBytes > previewAttachmentBytes) throw tooLarge("this message's attachments are", attachmentBytes, previewAttachmentBytes, c.status);
  try {
    return await composeRecipientMessage(c, r, await readerFor(deps, c.tenant), deps, { renderMs: previewRenderMs });
  } catch (err) {
    if (!(err instanceof TemplateRenderError)) throw asAttachmentRefusal(err, c.status);
    const details = { status: c.status, buildStatus: r.buildStatus, reasons: r.buildReasons };
    if (err.overLimit) throw new Refusal('invalid', `template-limit: ${err.message}; this recipient's message is not rendered`, details);
    throw new Refusal('conflict', `the message cannot be rendered for this recipient: ${err.message}`, details);
  }
}

/** One of a recipient's attachments (`n` from 0), the version the build pinned. */
export async function previewAttachment(deps: PreviewDeps, c: CampaignRow, r: RecipientRow, n: number): Promise<{ filename: string; bytes: Buffer }> {
  const a = r.attachments[n];
  if (!a) throw new Refusal('not_found', 'attachment not found');
  if (a.size > deps.limits.previewAttachmentBytes) throw tooLarge('this attachment is', a.size, deps.limits.previewAttachmentBytes, c.status);
  try {
    return { filename: a.filename, bytes: await (await readerFor(deps, c.tenant)).read(a.bucket, a.key, a.etag) };
  } catch (err) {
    throw asAttachmentRefusal(err, c.status);
  }
}
