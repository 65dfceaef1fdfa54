import { campaignSchedule, type ScheduleDeps } from '../campaign-plan.js';
import { tenantS3 } from '../../s3/tenant-s3.js';
import { LocationDeniedError } from '../../s3/locations.js';
import { Router, type Response } from 'express';
import { z } from 'zod';
import { recipientDecisionSchema, testSendSchema } from '../../contract/campaign.js';
import { previewResponse, recipientDecisionResponse, reviewResponse, testSendResponse } from '../../contract/responses.js';
import { suppressedAmong } from '../../db/suppressions.js';
import { appendAudit } from '../../db/audit.js';
import { tenantPolicy } from '../../db/tenants.js';
import * as campaigns from '../../db/campaigns.js';
import * as recipients from '../../db/recipients.js';
import { followUpOf } from '../../db/follow-ups.js';
import type { Sql } from '../../db/sql.js';
import { composeRecipientMessage, type MessageKit } from '../../mail/recipient-message.js';
import { TemplateRenderError } from '../../mail/templates.js';
import { ObjectChangedError } from '../../s3/client.js';
import { campaignLoader, loadCampaign } from '../campaign-access.js';
import { ApiError, notFound } from '../errors.js';
import { reviewFingerprint } from '../fingerprint.js';
import { runTestSend, TEST_SEND_DEADLINE_MS, type TestSendOutcome } from '../lifecycle.js';
import { intCursor, page, pageQuery } from '../paging.js';
import { campaignParam, recipientParam } from '../params.js';
import { route } from '../route.js';
import type { Caller } from '../scopes.js';
import type { ResolvedDeps } from '../deps.js';

type ReviewRouterDeps = Pick<ResolvedDeps, 'sql' | 'client' | 's3' | 's3Locations' | 'taskQueue' | 'logger' | 'limits' | keyof ScheduleDeps | keyof MessageKit>;

/** Which of a recipient's attachments, in the order the preview lists them (from 0). */
const attachmentQuery = z
  .object({
    n: z.preprocess(
      (v) => (typeof v === 'string' && /^\d{1,3}$/.test(v) ? Number(v) : v),
      z.number({ error: 'required: the attachment\'s index, a whole number from 0' }).int().min(0).max(999),
    ),
  })
  .strict();
/** The review's recipients, by id. */
const reviewQuery = pageQuery(intCursor, {}, { afterAlias: true });

/**
 * Where a test message may go: the caller's own address (its key's person, when that is an
 * address), an address or domain the admin listed for the tenant, anywhere for the admin's own key.
 */
async function isTestRecipient(sql: Sql, caller: Caller, tenant: string, to: string): Promise<boolean> {
  if (caller.bootstrap) return true;
  const address = to.toLowerCase();
  if (caller.person.toLowerCase() === address) return true;
  const listed = (await tenantPolicy(sql, tenant, [])).testSendRecipients;
  return listed.includes(address) || listed.includes(address.slice(address.lastIndexOf('@')));
}


/**
 * An attachment the tenant may no longer read, or one changed since the build: the same refusal
 * wherever it is met (preview, download, test send), with what it means for the message.
 */
function attachmentRefusal(err: unknown, consequence: string, status: string): ApiError | undefined {
  if (err instanceof LocationDeniedError) return attachmentProblem('attachment-location', err.message, consequence, status);
  if (err instanceof ObjectChangedError) return attachmentProblem('attachment-changed', err.message, consequence, status);
  return undefined;
}
const attachmentProblem = (kind: 'attachment-location' | 'attachment-changed', message: string, consequence: string, status: string) =>
  new ApiError(kind === 'attachment-location' ? 403 : 409, `${kind}: ${message}; ${consequence}`, { status });

/** A test send that did not go, as its HTTP answer. */
function testSendRefusal(r: Exclude<TestSendOutcome, { ok: true }>, status: string, res: Response): ApiError {
  switch (r.reason) {
    case 'attachment-location':
    case 'attachment-changed':
      return attachmentProblem(r.reason, r.message, 'nothing was sent', status);
    case 'account-held':
      return new ApiError(409, `${r.message}; nothing was sent`, { status, account: 'held' });
    case 'throttled':
      res.set('Retry-After', String(r.retryAt ? Math.max(1, Math.ceil((r.retryAt - Date.now()) / 1000)) : 60));
      return new ApiError(429, `${r.message}; nothing was sent`, { status });
    case 'smtp-refused':
      return new ApiError(502, 'the SMTP server refused the test message; nothing was sent', { smtpResponse: r.message });
    case 'timeout':
      return new ApiError(503, `no worker sent the test message within ${TEST_SEND_DEADLINE_MS / 1000} s; it may still be sent`);
  }
}

/** What a reviewer needs: the review page, message previews, per-recipient decisions, test sends. */
/** The statuses a test message may be sent in: those of a review still open. */
const TESTABLE: readonly string[] = ['awaiting_review'];

/**
 * A test send is part of a review: once the campaign is decided (or ended) it is no longer a way
 * to send its messages anywhere, and a suppressed address gets no test message either.
 */
async function assertTestSendAllowed(sql: Sql, caller: Caller, c: { tenant: string; status: string }, to: string): Promise<void> {
  if (!TESTABLE.includes(c.status)) {
    throw new ApiError(409, `the campaign is ${c.status}; test messages are sent only while it awaits review`, { status: c.status });
  }
  if (!(await isTestRecipient(sql, caller, c.tenant, to))) {
    const problem = { path: 'to', message: `${to} is not a test address of tenant ${c.tenant}: your own address, or one the admin lists (PUT /tenants/${c.tenant} testSend.recipients)` };
    throw new ApiError(403, problem.message, { problems: [problem], setting: 'testSend.recipients' });
  }
  const [suppressed] = await suppressedAmong(sql, c.tenant, [to]);
  if (suppressed) {
    throw new ApiError(409, `${to} is on the suppression list${suppressed.reason ? ` (${suppressed.reason})` : ''}; nothing was sent`, { status: c.status });
  }
}

export function reviewRouter(deps: ReviewRouterDeps): Router {
  const { sql, client, s3, s3Locations, taskQueue, logger } = deps;
  // Attachment bytes one preview may fetch from S3; milliseconds its templates may hold the event loop.
  const { previewAttachmentBytes, previewRenderMs } = deps.limits;
  const router = Router();

  const load = campaignLoader(sql);
  async function loadRecipient(campaignId: string, id: number) {
    const r = await recipients.getRecipient(sql, campaignId, id);
    if (!r) throw notFound('recipient');
    return r;
  }
  /** The `load` of the routes under /campaigns/:id/recipients/:rid: the campaign and its recipient. */
  const loadBoth = async ({ caller, params }: { caller: Caller; params: { id: string; rid: number } }) => {
    const c = await loadCampaign(sql, caller, params.id);
    return { c, r: await loadRecipient(c.id, params.rid) };
  };

  router.get('/campaigns/:id/review', route({ scope: 'campaigns:read', summary: 'Counts per build status and the recipients that need a decision or are blocked (and, for a follow-up, its warnings), paged', params: { id: campaignParam }, load, query: reviewQuery, response: reviewResponse }, async ({ loaded: c, query: q }, _req, res) => {
    // A follow-up also lists its `warning` recipients: each says why its earlier send failed.
    const listed = (await followUpOf(sql, c.id)) ? (['needs_review', 'blocked', 'warning'] as const) : (['needs_review', 'blocked'] as const);
    const [counts, undecided, rows, fingerprint, schedule] = await Promise.all([
      recipients.statusCounts(sql, c.id).then((all) => all.build),
      recipients.undecidedCount(sql, c.id),
      recipients.recipientsByBuildStatus(sql, c.id, [...listed], q.cursor ?? 0, q.limit + 1),
      // Send it back with the approval: the API refuses it (409) when the list changed meanwhile.
      // Hashing the list reads all of it: done for the first page only, which every review starts with.
      c.status === 'building' || q.cursor ? undefined : reviewFingerprint(sql, c),
      // When it would go if approved now: the account's queue, limits and send windows.
      c.status === 'awaiting_review' && !q.cursor ? campaignSchedule(deps, c) : undefined,
    ]);
    const { items, nextCursor } = page(rows, q.limit, (r) => r.id);
    res.json({
      status: c.status,
      counts,
      undecided,
      fingerprint,
      schedule,
      items: items.map((r) => ({
        id: r.id,
        email: r.email,
        name: r.name ?? undefined,
        buildStatus: r.buildStatus,
        reasons: r.buildReasons,
        included: r.buildStatus === 'needs_review' ? r.included : undefined,
      })),
      nextCursor,
    });
  }));

  const recipientParams = { id: campaignParam, rid: recipientParam };

  router.get('/campaigns/:id/recipients/:rid/preview', route({ scope: 'campaigns:read', summary: 'The exact message a recipient would get: JSON, or the .eml with Accept: message/rfc822', params: recipientParams, load: loadBoth, response: previewResponse }, async ({ loaded: { c, r } }, req, res) => {
    if (c.status === 'building') throw new ApiError(409, 'the campaign is still building', { status: c.status });
    const attachmentBytes = (r.attachments ?? []).reduce((sum, a) => sum + a.size, 0);
    if (attachmentBytes > previewAttachmentBytes) {
      throw new ApiError(422, `preview-too-large: this message's attachments are ${attachmentBytes} bytes, more than the ${previewAttachmentBytes} a preview may fetch (PREVIEW_MAX_ATTACHMENT_BYTES)`, { status: c.status });
    }
    let msg;
    try {
      if (!s3) throw new ApiError(503, 'this API process has no S3 store to read attachments from');
      // Read as the campaign's tenant may read now: its locations may have been narrowed since the build.
      msg = await composeRecipientMessage(c, r, await tenantS3({ sql, s3, s3Locations }, c.tenant), deps, { renderMs: previewRenderMs });
    } catch (err) {
      const refused = attachmentRefusal(err, "this recipient's message would not be sent", c.status);
      if (refused) throw refused;
      if (!(err instanceof TemplateRenderError)) throw err;
      if (err.overLimit) {
        throw new ApiError(422, `template-limit: ${err.message}; this recipient's message is not rendered`, {
          status: c.status,
          buildStatus: r.buildStatus,
          reasons: r.buildReasons,
        });
      }
      throw new ApiError(409, `the message cannot be rendered for this recipient: ${err.message}`, {
        status: c.status,
        buildStatus: r.buildStatus,
        reasons: r.buildReasons,
      });
    }
    if (req.accepts(['application/json', 'message/rfc822']) === 'message/rfc822') {
      res.type('message/rfc822').send(msg.raw);
      return;
    }
    res.json({
      messageId: msg.messageId,
      date: msg.date,
      from: msg.parts.from,
      to: msg.parts.to,
      cc: msg.parts.cc,
      bcc: msg.parts.bcc,
      replyTo: msg.parts.replyTo,
      inReplyTo: msg.parts.inReplyTo,
      subject: msg.parts.subject,
      // List-Unsubscribe and List-Unsubscribe-Post, exactly as they are sent.
      headers: msg.parts.headers,
      text: msg.parts.text,
      html: msg.parts.html,
      attachments: msg.attachments,
      size: msg.raw.length,
      buildStatus: r.buildStatus,
      reasons: r.buildReasons,
    });
  }));

  router.get('/campaigns/:id/recipients/:rid/attachment', route({ scope: 'campaigns:read', summary: "One of a recipient's attachments, the version the build pinned, as a download", params: recipientParams, load: loadBoth, query: attachmentQuery, produces: 'application/octet-stream' }, async ({ loaded: { c, r }, query: { n } }, _req, res) => {
    const a = r.attachments[n];
    if (!a) throw notFound('attachment');
    if (a.size > previewAttachmentBytes) {
      throw new ApiError(422, `preview-too-large: this attachment is ${a.size} bytes, more than the ${previewAttachmentBytes} a preview may fetch (PREVIEW_MAX_ATTACHMENT_BYTES)`, { status: c.status });
    }
    let bytes: Buffer;
    try {
      if (!s3) throw new ApiError(503, 'this API process has no S3 store to read attachments from');
      bytes = await (await tenantS3({ sql, s3, s3Locations }, c.tenant)).read(a.bucket, a.key, a.etag);
    } catch (err) {
      throw attachmentRefusal(err, "this recipient's message would not be sent", c.status) ?? err;
    }
    // Always a download, never rendered here: an HTML attachment must not run on the console's origin.
    res
      .status(200)
      .set({
        'Content-Type': 'application/octet-stream',
        'Content-Disposition': `attachment; filename="${a.filename.replace(/[^\w.\- ]/g, '_')}"; filename*=UTF-8''${encodeURIComponent(a.filename)}`,
        'X-Content-Type-Options': 'nosniff',
        'Content-Security-Policy': "default-src 'none'; sandbox",
      })
      .send(bytes);
  }));

  router.post('/campaigns/:id/recipients/:rid/decision', route({ scope: 'campaigns:review', summary: 'Include or leave out a needs_review recipient', params: recipientParams, load: loadBoth, body: recipientDecisionSchema, response: recipientDecisionResponse }, async ({ caller, loaded: { c, r }, body: { include } }, _req, res) => {
    if (c.status !== 'awaiting_review') {
      throw new ApiError(409, `the campaign is ${c.status}, not awaiting review`, { status: c.status });
    }
    if (r.buildStatus !== 'needs_review') {
      throw new ApiError(409, `recipient ${r.id} is ${r.buildStatus}; only needs_review recipients take a decision`, {
        status: r.buildStatus,
      });
    }
    await sql.begin(async (tx) => {
      // Checked under the campaign row's lock: an approval committing at the same moment either
      // sees this decision or makes it a 409, never a 200 for a recipient the approval skipped.
      const status = await campaigns.lockCampaignStatus(tx, c.id);
      if (status !== 'awaiting_review') {
        throw new ApiError(409, `the campaign is ${status}, not awaiting review`, { status });
      }
      await recipients.setIncluded(tx, c.id, r.id, include);
      await appendAudit(tx, { tenant: caller.tenant, principal: caller.principal, action: 'recipient.decision', campaignId: c.id, subject: String(r.id), details: { include, email: r.email } });
    });
    logger.info({ campaignId: c.id, recipientId: r.id, include, by: caller.principal }, 'recipient decision');
    res.json({ id: r.id, buildStatus: r.buildStatus, included: include });
  }));

  router.post('/campaigns/:id/test-send', route({ scope: 'campaigns:review', summary: 'Send one rendered message to a test address only', params: { id: campaignParam }, load, body: testSendSchema, response: testSendResponse, errors: { 502: 'The SMTP server refused the message: `smtpResponse` is its reply', 503: 'No worker sent it in time' } }, async ({ caller, loaded: c, body }, _req, res) => {
    await assertTestSendAllowed(sql, caller, c, body.to);
    let recipientId = body.recipientId;
    if (recipientId === undefined) {
      const [first] = await recipients.recipientsByBuildStatus(sql, c.id, ['ready', 'warning', 'needs_review'], 0, 1);
      if (!first) throw new ApiError(409, 'the campaign has no recipient whose message can be rendered', { status: c.status });
      recipientId = first.id;
    } else {
      const r = await loadRecipient(c.id, recipientId);
      if (r.buildStatus === 'blocked') {
        throw new ApiError(409, `recipient ${r.id} is blocked: ${r.buildReasons.join('; ')}`, { status: r.buildStatus });
      }
    }
    const result = await runTestSend(client, { campaignId: c.id, recipientId, to: body.to, taskQueue });
    if (!result.ok) throw testSendRefusal(result, c.status, res);
    await appendAudit(sql, { tenant: caller.tenant, principal: caller.principal, action: 'campaign.test_send', campaignId: c.id, subject: String(recipientId), details: { to: body.to, messageId: result.messageId } });
    logger.info({ campaignId: c.id, recipientId, by: caller.principal }, 'test message sent');
    res.json({ to: body.to, recipientId, messageId: result.messageId, response: result.response });
  }));

  return router;
}
