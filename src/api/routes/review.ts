import { Router } from 'express';
import { z } from 'zod';
import { recipientDecisionSchema, testSendSchema } from '../../contract/campaign.js';
import { previewResponse, recipientDecisionResponse, reviewResponse, testSendResponse } from '../../contract/responses.js';
import { appendAudit } from '../../db/audit.js';
import * as recipients from '../../db/recipients.js';
import { followUpOf } from '../../db/follow-ups.js';
import type { MessageKit } from '../../mail/recipient-message.js';
import { decideRecipient } from '../../review/decision.js';
import { previewAttachment, previewMessage } from '../../review/preview.js';
import { testSendRecipient } from '../../review/test-send.js';
import { campaignSchedule, type ScheduleDeps } from '../campaign-plan.js';
import { campaignLoader, loadCampaign } from '../campaign-access.js';
import { notFound } from '../errors.js';
import { reviewFingerprint } from '../fingerprint.js';
import { runTestSend } from '../lifecycle.js';
import { intCursor, page, pageQuery } from '../paging.js';
import { campaignParam, recipientParam } from '../params.js';
import { route } from '../route-spec.js';
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

export function reviewRouter(deps: ReviewRouterDeps): Router {
  const { sql, client, taskQueue, logger } = deps;
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
    const [counts, { undecided, sendable }, rows, fingerprint, schedule] = await Promise.all([
      recipients.statusCounts(sql, c.id).then((all) => all.build),
      recipients.reviewTally(sql, c.id),
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
      sendable,
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
    const msg = await previewMessage(deps, c, r);
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
    const { filename, bytes } = await previewAttachment(deps, c, r, n);
    // Always a download, never rendered here: an HTML attachment must not run on the console's origin.
    res
      .status(200)
      .set({
        'Content-Type': 'application/octet-stream',
        'Content-Disposition': `attachment; filename="${filename.replace(/[^\w.\- ]/g, '_')}"; filename*=UTF-8''${encodeURIComponent(filename)}`,
        'X-Content-Type-Options': 'nosniff',
        'Content-Security-Policy': "default-src 'none'; sandbox",
      })
      .send(bytes);
  }));

  router.post('/campaigns/:id/recipients/:rid/decision', route({ scope: 'campaigns:review', summary: 'Include or leave out a needs_review recipient', params: recipientParams, load: loadBoth, body: recipientDecisionSchema, response: recipientDecisionResponse }, async ({ caller, loaded: { c, r }, body: { include } }, _req, res) => {
    await decideRecipient(sql, caller, c, r, include);
    logger.info({ campaignId: c.id, recipientId: r.id, include, by: caller.principal }, 'recipient decision');
    res.json({ id: r.id, buildStatus: r.buildStatus, included: include });
  }));

  router.post('/campaigns/:id/test-send', route({ scope: 'campaigns:review', summary: 'Send one rendered message to a test address only', params: { id: campaignParam }, load, body: testSendSchema, response: testSendResponse, errors: { 502: 'The SMTP server refused the message: `smtpResponse` is its reply', 503: 'No worker sent it in time' } }, async ({ caller, loaded: c, body }, _req, res) => {
    const recipientId = await testSendRecipient(sql, caller, c, body);
    const result = await runTestSend(client, { campaignId: c.id, recipientId, to: body.to, taskQueue, status: c.status });
    await appendAudit(sql, { tenant: caller.tenant, principal: caller.principal, action: 'campaign.test_send', campaignId: c.id, subject: String(recipientId), details: { to: body.to, messageId: result.messageId } });
    logger.info({ campaignId: c.id, recipientId, by: caller.principal }, 'test message sent');
    res.json({ to: body.to, recipientId, messageId: result.messageId, response: result.response });
  }));

  return router;
}
