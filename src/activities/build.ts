import { ApplicationFailure, Context } from '@temporalio/activity';
import { BUILD_REFUSED } from '../contract/failures.js';
import * as campaigns from '../db/campaigns.js';
import * as recipients from '../db/recipients.js';
import type { Sql } from '../db/sql.js';
import { tenantPolicy } from '../db/tenants.js';
import { effectiveReview } from '../review/policy.js';
import { RecipientAssessor, type PreparedRecipient } from '../build/assess.js';
import { readRecipientSource, SourceError, SourceProgress, type ListEntry } from '../build/recipient-source.js';
import { isPermanentS3Error, type S3Store } from '../s3/client.js';
import { scopedStore } from '../s3/locations.js';
import type { ActivityDeps, CampaignRef } from './deps.js';
import { markPreviousOutcomes } from '../db/follow-ups.js';
import { followUpRecipients } from '../followups/source.js';
import { existingCampaign } from './records.js';

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
  /** With a pilot batch: that it has one, and its stop rule. */
  pilot?: { stopIf?: { failedShare: number } };
}

const BUILD_BATCH = 500;
/** Attempts on which S3 refused (4xx) before the build gives up instead of retrying on. */
const S3_REFUSALS_BEFORE_GIVING_UP = 3;
/** Recipients whose attachments are looked up in S3 at the same time. */
const LOOKUP_CONCURRENCY = 32;
/**
 * On a timer, not per batch: listing a big attachment folder or skipping to where an earlier
 * attempt stopped can take minutes without a batch, and a silent attempt would be timed out and
 * retried while it still runs.
 */
const HEARTBEAT_EVERY_MS = 5000;
/**
 * Entries read and rendered ahead of the batch being written (see BatchWriter), and their rendered
 * text, while that batch waits for its attachments (a folder being listed).
 */
const LOOKAHEAD_ROWS = 50_000;
const LOOKAHEAD_TEXT_BYTES = 64 * 1024 * 1024;
/**
 * Entries read ahead while the batch being written has its attachments and only waits for the
 * database: enough to keep the writes going, and no more, so a build's memory does not grow with its list.
 */
const WRITE_AHEAD_ROWS = 4 * BUILD_BATCH;

/** A campaign ready to be built: its record, the tenant's rules as they stand now, its list. */
interface Build {
  campaignId: string;
  campaign: campaigns.CampaignRow;
  s3: S3Store;
  review: NonNullable<BuildResult['review']>;
  source: campaigns.RecipientSource;
  assessor: RecipientAssessor;
}

/** Building and validating a campaign's recipient list. */
export function createBuildActivities(deps: ActivityDeps) {
  return {
    /**
     * Streams the campaign's recipient source, gives every recipient a build status with
     * reasons, and writes them to Postgres in batches. Returns only counts, so the workflow
     * history is the same size whatever the list length. A retry resumes after the last batch
     * it reported in its heartbeat.
     */
    async buildRecipients({ campaignId }: CampaignRef): Promise<BuildResult> {
      const build = await prepareBuild(deps, campaignId);
      if ('failed' in build) return build.failed;
      const writer = new BatchWriter(deps.sql, build, await resumePoint(deps.sql, campaignId), deps.metrics.buildRowsWaiting);
      const beat = setInterval(() => writer.heartbeat(), HEARTBEAT_EVERY_MS);
      try {
        const read = await writeList(deps, build, writer);
        if (read.error !== undefined) return failed(build.review, read.error);
        return await finishBuild(deps, build, read.total);
      } finally {
        clearInterval(beat);
        writer.release();
      }
    },
  };
}

const failed = (review: BuildResult['review'], error: string): BuildResult => ({ error, total: 0, sendable: 0, blocked: 0, review });

/** Reads what the build needs; a campaign that cannot be built at all is answered `failed`. */
async function prepareBuild(deps: ActivityDeps, campaignId: string): Promise<Build | { failed: BuildResult }> {
  const { sql } = deps;
  const campaign = await existingCampaign(sql, campaignId);
  // The tenant's rules as they stand now: its S3 locations bound every read of this build, and
  // review can only be stricter than the tenant asks (settings may have tightened since creation).
  const policy = await tenantPolicy(sql, campaign.tenant, deps.s3Locations ?? []);
  const s3 = scopedStore(deps.s3, policy.s3Locations);
  const review = effectiveReview(policy, campaign.definition.review);
  const source = await campaigns.getCampaignSource(sql, campaignId);
  if (!source) return { failed: failed(review, 'the campaign has no recipient source') };
  // Every message of the campaign carries this Date, so a preview is the message sent.
  const messageDate = await campaigns.fixMessageDate(sql, campaignId, new Date(Math.floor(Date.now() / 1000) * 1000));
  try {
    const assessor = new RecipientAssessor({ campaignId, tenant: campaign.tenant, definition: campaign.definition, linkKey: campaign.linkKey, s3, messageDate, maxMessageBytes: deps.maxMessageBytes, kit: deps });
    return { campaignId, campaign, s3, review, source, assessor };
  } catch (err) {
    return { failed: failed(review, `the campaign's templates do not compile: ${(err as Error).message}`) };
  }
}

/**
 * Where an earlier attempt stopped: the rows it wrote (whole batches, in list order), even when
 * its last heartbeat did not reach the server before it failed.
 */
async function resumePoint(sql: Sql, campaignId: string): Promise<number> {
  const reported = (Context.current().info.heartbeatDetails as { written?: number } | undefined)?.written ?? 0;
  return Math.max(reported, await recipients.writtenCount(sql, campaignId));
}

/**
 * Streams the list into batches of assessed recipients, skipping what an earlier attempt wrote.
 * A list that is not a list (SourceError) leaves no rows and answers `error`; a store that keeps
 * refusing gives up; anything else is retried and resumes.
 */
async function writeList(deps: ActivityDeps, build: Build, writer: BatchWriter): Promise<{ total: number; error?: string }> {
  const maxRecipients = deps.maxRecipients ?? Infinity;
  let total = 0;
  try {
    const list = build.source.type === 'campaign'
      ? followUpRecipients(deps.sql, build.campaign.tenant, build.source, writer.progress)
      : asEntries(readRecipientSource(build.source, build.s3, writer.progress));
    for await (const entry of list) {
      total++;
      if (total > maxRecipients) throw new SourceError(`too-many-recipients: the list has more than ${maxRecipients} recipients (MAX_RECIPIENTS_PER_CAMPAIGN)`);
      await writer.add(total, entry);
    }
    await writer.flush();
    return { total };
  } catch (err) {
    // No write of this attempt may land after this: not after the rows are removed, nor during a retry.
    await writer.settle();
    if (!(err instanceof SourceError)) throw giveUpOnRefusals(err);
    // No half-built list: the rows written before the bad part go, the reason stays.
    await recipients.deleteRecipients(deps.sql, build.campaignId);
    return { total, error: err.message };
  }
}

/** A list's entries, none of them threaded. */
async function* asEntries(list: AsyncIterable<unknown>): AsyncGenerator<ListEntry> {
  for await (const raw of list) yield { raw };
}

/**
 * A store that refuses (403, no such bucket) on every attempt will not change its mind soon: the
 * build gives up and the workflow ends the campaign failed, its rows removed. Anything else (a
 * list read cut part-way, a network error) is thrown as it is, retried, and resumes.
 */
function giveUpOnRefusals(err: unknown): unknown {
  const { attempt } = Context.current().info;
  if (!isPermanentS3Error(err) || attempt < S3_REFUSALS_BEFORE_GIVING_UP) return err;
  const e = err as Error & { $metadata?: { httpStatusCode?: number } };
  // A HEAD has no body to name the error: the status says it (403: access denied).
  const what = [e.name, e.message].filter((x) => x && !/^Unknown/.test(x)).join(': ');
  return ApplicationFailure.nonRetryable(`S3 refused a read on ${attempt} attempts: HTTP ${e.$metadata?.httpStatusCode}${what ? ` ${what}` : ''}`, BUILD_REFUSED);
}

/** The list as a whole: duplicates, suppressed addresses and shared unique attachments; then the counts. */
async function finishBuild(deps: ActivityDeps, build: Build, total: number): Promise<BuildResult> {
  if (total === 0) return failed(build.review, 'the recipient list is empty');
  const { sql, metrics } = deps;
  await recipients.excludeDuplicatesAndSuppressed(sql, build.campaignId);
  if (build.source.type === 'campaign') {
    await markPreviousOutcomes(sql, build.campaignId, build.source);
  }
  await recipients.flagSharedAttachments(sql, build.campaignId);
  const counts = (await recipients.statusCounts(sql, build.campaignId)).build;
  for (const [status, n] of Object.entries(counts)) metrics.recipientsBuilt.inc({ status }, n);
  return {
    total,
    sendable: counts.ready + counts.warning,
    blocked: counts.blocked,
    needsReview: counts.needs_review,
    review: build.review,
    startAt: build.campaign.definition.startAt,
    ...(build.campaign.definition.pilot ? { pilot: { stopIf: build.campaign.definition.pilot.stopIf } } : {}),
  };
}

/** A batch prepared (rendered) and waiting to be completed (its attachments looked up) and written. */
interface QueuedBatch {
  rows: PreparedRecipient[];
  /** The list entry it ends with, and how much of the source had been read then. */
  read: number;
  fraction?: number;
  textBytes: number;
  /** `completing`: its attachments being looked up (and its messages sized); `writing`: that done, its rows being written. */
  stage?: 'completing' | 'writing';
}

/**
 * Assesses list entries in batches and writes each batch whole, in list order, reporting how far it
 * got. While the batch being written waits for its attachments (a folder being listed), reading and
 * rendering run ahead of it (up to LOOKAHEAD_ROWS entries and LOOKAHEAD_TEXT_BYTES of rendered
 * text) instead of waiting, and each batch is written once its attachments are known. Once it only
 * waits for the database, reading stays at most WRITE_AHEAD_ROWS ahead: a slow database holds the
 * reading back instead of the whole list piling up in memory.
 */
class BatchWriter {
  readonly progress = new SourceProgress();
  private readonly ctx = Context.current();
  private pending: (ListEntry & { id: number })[] = [];
  /** Entries read so far, and written so far (this attempt's and the earlier ones'). */
  private read = 0;
  private written: number;
  /** Batches rendered and not written yet, oldest first; `writing` is the write of the oldest ones, in order. */
  private readonly queued: QueuedBatch[] = [];
  private writing: Promise<void> = Promise.resolve();
  private writes: Promise<void>[] = [];
  private failure: { error: unknown } | undefined;

  constructor(
    private readonly sql: Sql,
    private readonly build: Build,
    /** Entries an earlier attempt wrote: read again, not written again. */
    private readonly resumeAfter: number,
    /** The worker's count of entries read and not written yet, over all its builds. */
    private readonly waiting: { inc(n: number): void; dec(n: number): void },
  ) {
    this.written = resumeAfter;
  }

  /** The attempt is over: what it read and did not write is no longer waiting. */
  release(): void {
    this.waiting.dec(this.queuedRows());
    this.queued.length = 0;
  }

  heartbeat(): void {
    this.ctx.heartbeat({ written: this.written });
  }

  async add(id: number, entry: ListEntry): Promise<void> {
    // A full batch goes once the next entry is read: then it is known that more follow. (`read`
    // is the batch's last entry while it is queued: the one just read is not part of it.)
    if (this.pending.length >= BUILD_BATCH) await this.seal({ more: true });
    this.read = id;
    if (id <= this.resumeAfter) return;
    this.pending.push({ id, ...entry });
  }

  /** Writes what is left and waits for every write. */
  async flush(): Promise<void> {
    await this.seal();
    await Promise.all(this.writes);
    this.rethrow();
  }

  /** Waits until no write runs (after a failure, before the rows are removed or the attempt ends). */
  async settle(): Promise<void> {
    await Promise.allSettled(this.writes);
  }

  /** Renders the pending batch and queues it to be written; waits while too much is queued. `more`: entries follow it, so the list is a long one. */
  private async seal({ more = false }: { more?: boolean } = {}): Promise<void> {
    this.rethrow();
    const { assessor } = this.build;
    if (more) assessor.expectLongList();
    const pending = this.pending;
    this.pending = [];
    const rows: PreparedRecipient[] = [];
    for (let i = 0; i < pending.length; i += LOOKUP_CONCURRENCY) {
      rows.push(...(await Promise.all(pending.slice(i, i + LOOKUP_CONCURRENCY).map((p) => assessor.prepare(p.id, p.raw, p.threadMessageId ?? null, p.threadReferences ?? null)))));
    }
    const batch: QueuedBatch = { rows, read: this.read, fraction: this.progress.fraction, textBytes: rows.reduce((n, r) => n + r.textBytes, 0) };
    this.queued.push(batch);
    this.waiting.inc(rows.length);
    this.writing = this.writing.then(() => this.write(batch));
    const write = this.writing.catch((error: unknown) => {
      this.failure ??= { error };
    });
    this.writes.push(write);
    // While the oldest batch waits for its attachments (a folder being listed), read on within
    // bounds; once it waits only for the database, just far enough to keep the writes going.
    while (this.writes.length > 1 && this.tooFarAhead()) {
      await this.writes.shift();
      this.rethrow();
    }
    // An attempt Temporal has given up on (timed out, cancelled) stops here instead of racing its retry.
    this.ctx.cancellationSignal.throwIfAborted();
  }

  private tooFarAhead(): boolean {
    const rows = this.queuedRows();
    if (this.queued[0]?.stage !== 'completing') return rows > WRITE_AHEAD_ROWS;
    return rows > LOOKAHEAD_ROWS || this.queuedTextBytes() > LOOKAHEAD_TEXT_BYTES;
  }

  private queuedRows(): number {
    return this.queued.reduce((n, b) => n + b.rows.length, 0);
  }

  private queuedTextBytes(): number {
    return this.queued.reduce((n, b) => n + b.textBytes, 0);
  }

  private rethrow(): void {
    if (this.failure) throw this.failure.error;
  }

  /** Completes a batch (its attachments looked up, its messages sized) and writes it whole. */
  private async write(batch: QueuedBatch): Promise<void> {
    const { assessor, campaignId } = this.build;
    const rows: recipients.NewRecipient[] = [];
    batch.stage = 'completing';
    for (let i = 0; i < batch.rows.length; i += LOOKUP_CONCURRENCY) {
      rows.push(...(await Promise.all(batch.rows.slice(i, i + LOOKUP_CONCURRENCY).map((p) => assessor.complete(p)))));
    }
    batch.stage = 'writing';
    await recipients.insertRecipients(this.sql, campaignId, rows);
    await campaigns.setBuildProgress(this.sql, campaignId, { read: batch.read, fraction: batch.fraction });
    this.written = batch.read;
    if (this.queued[0] === batch) {
      this.queued.shift();
      this.waiting.dec(batch.rows.length);
    }
    this.heartbeat();
    this.ctx.cancellationSignal.throwIfAborted();
  }
}
