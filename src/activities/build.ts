import { ApplicationFailure, Context } from '@temporalio/activity';
import { recipientInputSchema, reviewPolicySchema } from '../contract/campaign.js';
import type { BuildStatus } from '../contract/statuses.js';
import * as campaigns from '../db/campaigns.js';
import * as recipients from '../db/recipients.js';
import { CampaignRenderer, messageIdFor, messageSize, type RecipientFields, type RenderedParts } from '../mail/message.js';
import { TemplateRenderError } from '../mail/templates.js';
import { isPermanentS3Error } from '../s3/client.js';
import { tenantPolicy } from '../db/tenants.js';
import { scopedStore } from '../s3/locations.js';
import { AttachmentResolver } from '../build/attachments.js';
import { BUILD_REFUSED, CAMPAIGN_NOT_FOUND } from '../contract/failures.js';
import type { ActivityDeps, CampaignRef } from './deps.js';
import { readRecipientSource, SourceError, SourceProgress } from '../build/recipient-source.js';
import { followUpRecipients, markPreviousOutcomes } from '../followups/source.js';
import { listUnsubscribeHeaders } from '../unsubscribe/token.js';

export interface BuildResult {
  /** Set when the campaign as a whole cannot be built; no recipient is sendable then. */
  error?: string;
  total: number;
  sendable: number;
  blocked: number;
  needsReview?: number;
  /** The campaign's review settings, so the workflow needs no other read. */
  review?: { required: boolean; expiresAfter: string; distinctReviewer?: boolean };
  /** The campaign's startAt, if it has one. */
  startAt?: string;
}

const BUILD_BATCH = 500;
/** Attempts on which S3 refused (4xx) before the build gives up instead of retrying on. */
const S3_REFUSALS_BEFORE_GIVING_UP = 3;

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
/** Recipients whose attachments are looked up in S3 at the same time. */
const LOOKUP_CONCURRENCY = 32;

/** Building and validating a campaign's recipient list. */
export function createBuildActivities({ sql, s3: processS3, s3Locations, maxMessageBytes, maxRecipients = Infinity, metrics }: ActivityDeps) {
  async function loadCampaign(campaignId: string) {
    const campaign = await campaigns.getCampaign(sql, campaignId);
    if (!campaign) throw ApplicationFailure.nonRetryable(`campaign ${campaignId} does not exist`, CAMPAIGN_NOT_FOUND);
    return campaign;
  }

  return {
    /**
     * Streams the campaign's recipient source, gives every recipient a build status with
     * reasons, and writes them to Postgres in batches. Returns only counts, so the workflow
     * history is the same size whatever the list length. A retry resumes after the last batch
     * it reported in its heartbeat.
     */
    async buildRecipients({ campaignId }: CampaignRef): Promise<BuildResult> {
      const campaign = await loadCampaign(campaignId);
      // The tenant's rules as they stand now: its S3 locations bound every read of this build, and
      // review can only be stricter than the tenant asks (settings may have tightened since creation).
      const policy = await tenantPolicy(sql, campaign.tenant, s3Locations ?? []);
      const s3 = scopedStore(processS3, policy.s3Locations);
      const asked = reviewPolicySchema.parse(campaign.definition.review ?? {});
      const review = {
        ...asked,
        required: asked.required || !policy.reviewSkipAllowed || policy.fourEyesRequired,
        distinctReviewer: asked.distinctReviewer || policy.fourEyesRequired,
      };
      const fail = (error: string): BuildResult => ({ error, total: 0, sendable: 0, blocked: 0, review });
      const source = await campaigns.getCampaignSource(sql, campaignId);
      if (!source) return fail('the campaign has no recipient source');
      // Every message of the campaign carries this Date, so a preview is the message sent.
      const messageDate = await campaigns.fixMessageDate(sql, campaignId, new Date(Math.floor(Date.now() / 1000) * 1000));

      let renderer: CampaignRenderer;
      let attachments: AttachmentResolver;
      try {
        renderer = new CampaignRenderer(campaign.definition);
        attachments = new AttachmentResolver(campaign.definition.attachments ?? [], s3);
      } catch (err) {
        return fail(`the campaign's templates do not compile: ${(err as Error).message}`);
      }

      const ctx = Context.current();
      // Where an earlier attempt stopped: the rows it wrote (whole batches, in list order), even
      // when its last heartbeat did not reach the server before it failed.
      const resumeAfter = Math.max(
        (ctx.info.heartbeatDetails as { written?: number } | undefined)?.written ?? 0,
        await recipients.writtenCount(sql, campaignId),
      );
      let total = 0;
      let written = resumeAfter;
      let pending: { id: number; raw: unknown }[] = [];
      const progress = new SourceProgress();
      // On a timer, not per batch: listing a big attachment folder or skipping to where an earlier
      // attempt stopped can take minutes without a batch, and a silent attempt would be timed out
      // and retried while it still runs.
      const beat = setInterval(() => ctx.heartbeat({ written }), 5000);
      const flush = async () => {
        const rows: recipients.NewRecipient[] = [];
        for (let i = 0; i < pending.length; i += LOOKUP_CONCURRENCY) {
          rows.push(...(await Promise.all(pending.slice(i, i + LOOKUP_CONCURRENCY).map((p) => assess(p.id, p.raw)))));
        }
        await recipients.insertRecipients(sql, campaignId, rows);
        await campaigns.setBuildProgress(sql, campaignId, { read: total, fraction: progress.fraction });
        written = total;
        ctx.heartbeat({ written });
        pending = [];
        // An attempt Temporal has given up on (timed out, cancelled) stops here instead of racing its retry.
        ctx.cancellationSignal.throwIfAborted();
      };

      async function assess(id: number, raw: unknown): Promise<recipients.NewRecipient> {
        const parsed = recipientInputSchema.safeParse(raw);
        if (!parsed.success) {
          const email = typeof (raw as { email?: unknown })?.email === 'string' ? (raw as { email: string }).email : '';
          return {
            id,
            email,
            name: null,
            vars: {},
            cc: [],
            bcc: [],
            attachments: [],
            buildStatus: 'blocked',
            buildReasons: recipientProblems(raw, parsed.error.issues),
          };
        }
        const fields: RecipientFields = {
          id,
          email: parsed.data.email,
          name: parsed.data.name ?? null,
          vars: parsed.data.vars ?? {},
          cc: parsed.data.cc ?? [],
          bcc: parsed.data.bcc ?? [],
        };
        const blocked: string[] = [];
        let parts: RenderedParts | undefined;
        try {
          parts = renderer.render(fields);
          const unsubscribe = campaign.definition.listUnsubscribe;
          if (unsubscribe) parts.headers = listUnsubscribeHeaders({ tenant: campaign.tenant, campaignId, recipientId: id, email: fields.email }, unsubscribe.mailto);
        } catch (err) {
          if (!(err instanceof TemplateRenderError)) throw err;
          blocked.push(err.overLimit ? `template-limit: ${err.message}` : `missing-variable: ${err.message}`);
        }
        const found = await attachments.resolve(renderer.scopeFor(fields));
        blocked.push(...found.blocked);
        if (parts) {
          // The size of the very bytes the send will build: same parts, Message-ID and date.
          const size = await messageSize(
            parts,
            messageIdFor(campaignId, id, campaign.definition.from.address),
            messageDate,
            found.found.map((a) => ({ filename: a.filename, size: a.size, load: () => s3.read(a.bucket, a.key, a.etag) })),
          );
          if (size > maxMessageBytes) {
            blocked.push(`too-large: the message is ${size} bytes, over the limit of ${maxMessageBytes}`);
          }
        }
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
        };
      }

      try {
        return await buildAll(source);
      } finally {
        clearInterval(beat);
      }

      async function buildAll(source: campaigns.RecipientSource): Promise<BuildResult> {
        try {
          const list = source.type === 'campaign' ? followUpRecipients(sql, campaign.tenant, source, progress) : readRecipientSource(source, s3, progress);
          for await (const raw of list) {
            total++;
            if (total > maxRecipients) throw new SourceError(`too-many-recipients: the list has more than ${maxRecipients} recipients (MAX_RECIPIENTS_PER_CAMPAIGN)`);
            if (total <= resumeAfter) continue;
            pending.push({ id: total, raw });
            if (pending.length >= BUILD_BATCH) await flush();
          }
          await flush();
        } catch (err) {
          if (err instanceof SourceError) {
            // No half-built list: the rows written before the bad part go, the reason stays.
            await recipients.deleteRecipients(sql, campaignId);
            return fail(err.message);
          }
          // A store that refuses (403, no such bucket) on every attempt will not change its mind
          // soon: the build gives up and the workflow ends the campaign failed, its rows removed.
          if (isPermanentS3Error(err) && ctx.info.attempt >= S3_REFUSALS_BEFORE_GIVING_UP) {
            const e = err as Error & { $metadata?: { httpStatusCode?: number } };
            // A HEAD has no body to name the error: the status says it (403: access denied).
            const what = [e.name, e.message].filter((x) => x && !/^Unknown/.test(x)).join(': ');
            throw ApplicationFailure.nonRetryable(
              `S3 refused a read on ${ctx.info.attempt} attempts: HTTP ${e.$metadata?.httpStatusCode}${what ? ` ${what}` : ''}`,
              BUILD_REFUSED,
            );
          }
          // Anything else (a list read cut part-way, a network error) is retried and resumes.
          throw err;
        }
        if (total === 0) return fail('the recipient list is empty');

        await recipients.excludeDuplicatesAndSuppressed(sql, campaignId);
        if (source.type === 'campaign') await markPreviousOutcomes(sql, campaignId, source);
        await recipients.flagSharedAttachments(sql, campaignId);
        const counts = await recipients.buildStatusCounts(sql, campaignId);
        for (const [status, n] of Object.entries(counts)) metrics.recipientsBuilt.inc({ status }, n);
        return {
          total,
          sendable: counts.ready + counts.warning,
          blocked: counts.blocked,
          needsReview: counts.needs_review,
          review,
          startAt: campaign.definition.startAt,
        };
      }
    },
  };
}
