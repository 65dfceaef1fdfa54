import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { NativeConnection } from '@temporalio/worker';
import { createActivities } from '../src/activities/index.js';
import { parseEnv, workerEnvSchema } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { createWorker, type CampaignWorker } from '../src/worker/create.js';
import { createWorkerDeps } from '../src/worker/deps.js';
import type { RecipientRef } from '../src/activities/deps.js';
import { approve, campaignBody, createCampaign, messagesFor, waitForStatus } from './helpers/campaigns.js';
import { eventually, startHarness, type Harness } from './helpers/harness.js';

// An attempt that stops heartbeating (a frozen process, a cut network) is replaced by Temporal
// after the heartbeat timeout. When the old attempt wakes up and carries on, it must not start an
// SMTP transaction: the ledger knows a later attempt owns the message.
let h: Harness;
let worker: CampaignWorker;
let run: Promise<void>;
let deps: ReturnType<typeof createWorkerDeps>;
let connection: NativeConnection;
const seen: { attempt: number; error?: unknown; result?: unknown }[] = [];

before(async () => {
  h = await startHarness({ inProcessWorker: false, imap: false });
  deps = createWorkerDeps(parseEnv(workerEnvSchema, h.workerEnv), createLogger('test', 'silent'));
  const real = createActivities(deps).sendMessage;
  connection = await NativeConnection.connect({ address: h.workerEnv.TEMPORAL_ADDRESS! });
  worker = await createWorker({
    connection,
    namespace: 'default',
    taskQueue: h.taskQueue,
    deps,
    workflowBundlePath: process.env.WORKFLOW_BUNDLE_PATH,
    activityOverrides: {
      async sendMessage(ref: RecipientRef) {
        const { attempt } = Context.current().info;
        const entry: (typeof seen)[number] = { attempt };
        seen.push(entry);
        if (attempt === 1) {
          // Silent until Temporal has replaced this attempt and the replacement is inside SMTP.
          await eventually(async () => {
            const [row] = await h.sql`SELECT state FROM delivery_ledger WHERE campaign_id = ${ref.campaignId} AND recipient_id = ${ref.recipientId}`;
            return row?.state === 'sending';
          }, 90_000, 'the replacement attempt to enter SMTP');
        }
        try {
          entry.result = await real(ref);
          return entry.result as Awaited<ReturnType<typeof real>>;
        } catch (err) {
          entry.error = err;
          throw err;
        }
      },
    },
  });
  run = worker.run();
});

after(async () => {
  worker?.shutdown();
  await run;
  await deps?.close();
  await connection?.close();
  await h?.close();
});

test('an attempt Temporal replaced while it was silent wakes up and does not send: one message, sent by its replacement', async () => {
  h.sink.faults.dataDelayMs = 5000; // the replacement stays inside SMTP while the old attempt wakes up
  const id = await createCampaign(h, campaignBody(1));
  await approve(h, id);
  const done = await waitForStatus(h, id, 'completed', 120_000);
  await eventually(async () => seen.find((s) => s.attempt === 1 && (s.error || s.result)), 30_000, 'the old attempt to end');
  assert.equal(messagesFor(h, id).length, 1, 'one message at the server');
  assert.equal(done.counts.sent, 1);
  const old = seen.find((s) => s.attempt === 1)!;
  assert.equal(old.result, undefined, 'the replaced attempt did not report a send');
  assert.ok(old.error instanceof ApplicationFailure, String(old.error));
  assert.equal(old.error.type, 'AttemptReplaced');
  const replacement = seen.find((s) => s.attempt === 2)!;
  assert.equal((replacement.result as { outcome: string }).outcome, 'sent');
  const [ledger] = await h.sql`SELECT attempts, owner FROM delivery_ledger WHERE campaign_id = ${id}`;
  assert.equal(ledger!.attempts, 1, 'one SMTP transaction began');
  assert.match(ledger!.owner, / attempt 2$/);
});
