import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { SendResult } from '../../src/activities/index.js';
import { BUILD_REFUSED, INVALID_TRANSITION, SMTP_TRANSIENT } from '../../src/contract/failures.js';
import { cancelUpdate, pauseUpdate, resumeUpdate, statusQuery } from '../../src/contract/messages.js';
import { gate, startCampaign, startWorkflowTier, stubActivities, until, untilStatus, withFreshServer, type Gate, type WorkflowTier } from '../helpers/workflow-env.js';

// Pause, resume and cancel in every state of a campaign, on the time-skipping server. The stubs
// keep the campaign's status as Postgres would (what setCampaignStatus, finishCancel and
// completeCampaign wrote), and the send stub reads it as the send activity does once it holds
// an SMTP slot: paused answers `paused`, cancelling or cancelled answers `cancelled`.

let tier: WorkflowTier;
let env: TestWorkflowEnvironment;
before(async () => {
  tier = await startWorkflowTier();
  env = tier.env;
});
after(async () => tier?.close());
/** For a test whose clock must skip hours after earlier tests ran delivery children: see FRESH_CLOCK. */
const onFreshServer = (body: () => Promise<void>) => withFreshServer(tier, (t) => void ((tier = t), (env = t.env)), body);

interface WorldOptions {
  recipients?: number;
  review?: boolean;
  startAt?: string;
  /** Held while the build runs. */
  build?: Gate;
  /** Held while a send waits for its SMTP slot (before it reads the campaign's status). */
  slot?: Gate;
  /** Held inside the SMTP transaction (after the status was read): the message goes out. */
  smtp?: Gate;
  /** Held while completeCampaign runs. */
  complete?: Gate;
  /** While true, every send attempt fails as a 4xx reply does, and is retried. */
  smtpDown?: () => boolean;
  /** The server time the account's send window opens: an attempt before it is told to wait for it. */
  windowOpensAt?: number;
}

const WINDOW_TIMER = 'send window opens Mon 08:00 Europe/Berlin';

function world(o: WorldOptions = {}) {
  const n = o.recipients ?? 1;
  /** The campaign's status in the record, every write in order. */
  const written: string[] = [];
  const sent: number[] = [];
  const stubs = stubActivities({
    buildRecipients: async () => {
      await o.build?.pass();
      return { total: n, sendable: n, blocked: 0, startAt: o.startAt, review: { required: o.review ?? false, expiresAfter: '7 days' } };
    },
    setCampaignStatus: ({ status }) => void written.push(status),
    finishCancel: () => {
      written.push('cancelled');
      return 0;
    },
    completeCampaign: async () => {
      await o.complete?.pass();
      written.push('completed');
      return { total: n, sent: sent.length } as never;
    },
    abandonBuild: () => void written.push('failed'),
    nextRecipients: ({ afterId, limit }) =>
      Array.from({ length: n }, (_, i) => ({ id: i + 1, masked: `r***${i + 1}@example.com` }))
        .filter((r) => r.id > afterId)
        .slice(0, limit),
    sendMessage: async ({ recipientId }): Promise<SendResult> => {
      if (o.windowOpensAt !== undefined && (await env.currentTimeMs()) < o.windowOpensAt) {
        return { outcome: 'throttled', retryAt: o.windowOpensAt, reason: 'outside the send window', timer: WINDOW_TIMER };
      }
      await o.slot?.pass();
      if (o.smtpDown?.()) throw ApplicationFailure.retryable('421 4.7.0 try again later', SMTP_TRANSIENT);
      const status = written.at(-1);
      if (status === 'paused') return { outcome: 'paused' };
      if (status === 'cancelling' || status === 'cancelled') return { outcome: 'cancelled' };
      await o.smtp?.pass();
      sent.push(recipientId);
      return { outcome: 'sent' };
    },
  });
  return { stubs, written, sent };
}

/** The Update was refused by its validator, with the campaign's status at the time. */
async function refused(update: Promise<unknown>, status: string): Promise<void> {
  const err = await update.then(
    () => assert.fail('the Update was accepted'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof WorkflowUpdateFailedError, String(err));
  assert.ok(err.cause instanceof ApplicationFailure, String(err.cause));
  assert.equal(err.cause.type, INVALID_TRANSITION);
  assert.deepEqual(err.cause.details, [{ status }]);
}

const by = (who: string, reason?: string) => ({ args: [{ by: who, reason }] as [{ by: string; reason?: string }] });

/** Waits until the campaign's history holds `count` Signals named `name` and a workflow task completed after the last. */
async function untilHandled(handle: Awaited<ReturnType<typeof startCampaign>>, name: string, count: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const events = (await handle.fetchHistory()).events ?? [];
    const signals = events.flatMap((e, i) => (e.workflowExecutionSignaledEventAttributes?.signalName === name ? [i] : []));
    if (signals.length >= count && events.slice(signals.at(-1)! + 1).some((e) => e.workflowTaskCompletedEventAttributes)) return;
    if (Date.now() > deadline) throw new Error(`${count} ${name} Signal(s) handled: not within ${timeoutMs} ms (${signals.length} so far)`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('building', () => {
  test('cancel while the list is built: answered cancelling, cancelled once the build returns; pause is refused', async () => {
    const build = gate();
    const w = world({ build });
    try {
      await tier.run(w.stubs.activities, async (queue) => {
        const handle = await startCampaign(env, queue);
        await until(() => build.waiting === 1, 'the build runs');
        await refused(handle.executeUpdate(pauseUpdate, by('ann')), 'building');
        await refused(handle.executeUpdate(resumeUpdate, by('ann')), 'building');
        assert.deepEqual(await handle.executeUpdate(cancelUpdate, by('ann', 'wrong list')), { status: 'cancelling' });
        await refused(handle.executeUpdate(cancelUpdate, by('bob')), 'cancelling');
        build.open();
        assert.deepEqual(await handle.result(), { status: 'cancelled' });
        assert.match((await handle.query(statusQuery)).reason ?? '', /cancelled by ann: wrong list/);
      });
    } finally {
      build.open();
    }
    assert.deepEqual(w.written, ['cancelling', 'cancelled']);
    assert.deepEqual(w.stubs.order('recordDecision', 'nextRecipients', 'sendMessage'), []);
  });
});

describe('review', () => {
  test('cancel during review ends cancelled and sends nothing; pause and resume are refused', async () => {
    const w = world({ review: true });
    await tier.run(w.stubs.activities, async (queue) => {
      const handle = await startCampaign(env, queue);
      await untilStatus(handle, 'awaiting_review');
      await refused(handle.executeUpdate(pauseUpdate, by('ann')), 'awaiting_review');
      await refused(handle.executeUpdate(resumeUpdate, by('ann')), 'awaiting_review');
      assert.deepEqual(await handle.executeUpdate(cancelUpdate, by('ann')), { status: 'cancelled' });
      assert.deepEqual(await handle.result(), { status: 'cancelled' });
    });
    assert.deepEqual(w.written, ['awaiting_review', 'cancelling', 'cancelled']);
    const [audit] = w.stubs.inputs('setCampaignStatus').filter((s) => s.audit);
    assert.equal(audit?.audit?.action, 'cancel');
    assert.equal(audit?.audit?.by, 'ann');
    assert.deepEqual(w.stubs.order('recordDecision', 'nextRecipients', 'sendMessage'), []);
  });
});

describe('scheduled', () => {
  test('paused while waiting for its start: stays paused past it, sends nothing until resumed', async () => {
    const startAt = new Date((await env.currentTimeMs()) + 24 * 3600_000).toISOString();
    const w = world({ startAt });
    await tier.run(w.stubs.activities, async (queue) => {
      const handle = await startCampaign(env, queue);
      await untilStatus(handle, 'scheduled');
      // Paused and resumed before the start: still scheduled.
      assert.deepEqual(await handle.executeUpdate(pauseUpdate, by('ann')), { status: 'paused' });
      assert.deepEqual(await handle.executeUpdate(resumeUpdate, by('ann')), { status: 'scheduled' });
      assert.deepEqual(await handle.executeUpdate(pauseUpdate, by('ann', 'hold on')), { status: 'paused' });
      await env.sleep('25 hours');
      assert.ok((await env.currentTimeMs()) > Date.parse(startAt), 'the start has passed on the server');
      await untilStatus(handle, 'paused');
      assert.deepEqual(w.stubs.order('nextRecipients', 'sendMessage'), [], 'nothing is started while paused');
      assert.deepEqual(await handle.executeUpdate(resumeUpdate, by('ann')), { status: 'sending' });
      assert.deepEqual(await handle.result(), { status: 'completed' });
    });
    assert.deepEqual(w.written, ['scheduled', 'paused', 'scheduled', 'paused', 'sending', 'completed']);
    assert.deepEqual(w.sent, [1]);
  });

  test('resumed before its start: it still waits for the start', () => onFreshServer(async () => {
    const startAt = new Date((await env.currentTimeMs()) + 3600_000).toISOString();
    const w = world({ startAt });
    await tier.run(w.stubs.activities, async (queue) => {
      const handle = await startCampaign(env, queue);
      await untilStatus(handle, 'scheduled');
      await handle.executeUpdate(pauseUpdate, by('ann'));
      await handle.executeUpdate(resumeUpdate, by('ann'));
      await untilStatus(handle, 'scheduled');
      assert.deepEqual(w.stubs.order('nextRecipients'), []);
      assert.deepEqual(await handle.result(), { status: 'completed' });
    });
    assert.ok((await env.currentTimeMs()) >= Date.parse(startAt));
    assert.deepEqual(w.sent, [1]);
  }));

  test('cancelled while waiting for its start: cancelled at once, nothing sent', async () => {
    const startAt = new Date((await env.currentTimeMs()) + 24 * 3600_000).toISOString();
    const w = world({ startAt });
    await tier.run(w.stubs.activities, async (queue) => {
      const handle = await startCampaign(env, queue);
      await untilStatus(handle, 'scheduled');
      assert.deepEqual(await handle.executeUpdate(cancelUpdate, by('ann')), { status: 'cancelled' });
      assert.deepEqual(await handle.result(), { status: 'cancelled' });
    });
    assert.deepEqual(w.written, ['scheduled', 'cancelling', 'cancelled']);
    assert.deepEqual(w.stubs.order('nextRecipients', 'sendMessage'), []);
  });
});

describe('sending', () => {
  test('pause with a send in flight: answered paused at once; the send finds the campaign paused and goes out after resume', async () => {
    const slot = gate();
    const w = world({ slot });
    try {
      await tier.run(w.stubs.activities, async (queue) => {
        const handle = await startCampaign(env, queue);
        await until(() => slot.waiting === 1, 'a send waits for its SMTP slot');
        await refused(handle.executeUpdate(resumeUpdate, by('ann')), 'sending');
        assert.deepEqual(await handle.executeUpdate(pauseUpdate, by('ann', 'typo')), { status: 'paused' });
        assert.equal(w.written.at(-1), 'paused', 'the record is paused before the answer');
        await refused(handle.executeUpdate(pauseUpdate, by('bob')), 'paused');
        slot.open();
        await until(() => w.stubs.inputs('sendMessage').length === 1 && slot.waiting === 0, 'the send ran');
        const paused = await untilStatus(handle, 'paused');
        assert.equal(paused.delivery.inFlight, 1, 'the recipient waits, still in flight');
        assert.deepEqual(w.sent, []);
        assert.deepEqual(await handle.executeUpdate(resumeUpdate, by('ann')), { status: 'sending' });
        assert.deepEqual(await handle.result(), { status: 'completed' });
      });
    } finally {
      slot.open();
    }
    assert.deepEqual(w.written, ['sending', 'paused', 'sending', 'completed']);
    assert.equal(w.stubs.inputs('sendMessage').length, 2, 'tried once while paused, once after resume');
    assert.deepEqual(w.sent, [1], 'sent once');
  });

  test('a quota refusal found before a resume and reported after it: the resumed campaign is not paused again', async () => {
    // Two sends meet the account's quota. The first pauses the campaign. The second found the hold
    // before the person's resume released it, but its answer comes back, and its pause reaches the
    // campaign, while the resume is being written (before the campaign tells its sends to go on).
    const late = gate();
    const resumeWrite = gate();
    const written: string[] = [];
    const sent: number[] = [];
    const attempts = new Map<number, number>();
    const stubs = stubActivities({
      buildRecipients: () => ({ total: 2, sendable: 2, blocked: 0, review: { required: false, expiresAfter: '7 days' } }),
      setCampaignStatus: async ({ status }) => {
        written.push(status);
        if (status === 'sending' && written.includes('paused')) await resumeWrite.pass();
      },
      completeCampaign: () => {
        written.push('completed');
        return { total: 2, sent: sent.length } as never;
      },
      nextRecipients: ({ afterId, limit }) =>
        [1, 2].filter((id) => id > afterId).slice(0, limit).map((id) => ({ id, masked: `r***${id}@example.com` })),
      sendMessage: async ({ recipientId }): Promise<SendResult> => {
        const n = (attempts.get(recipientId) ?? 0) + 1;
        attempts.set(recipientId, n);
        if (n === 1 && recipientId === 1) return { outcome: 'paused', accountProblem: 'sending limit of the account: 550 5.4.5 quota' };
        if (n === 1 && recipientId === 2) {
          await late.pass();
          return { outcome: 'paused', accountProblem: 'account default is on hold since then: sending limit of the account: 550 5.4.5 quota' };
        }
        if (written.at(-1) === 'paused') return { outcome: 'paused' };
        sent.push(recipientId);
        return { outcome: 'sent' };
      },
    });
    try {
      await tier.run(stubs.activities, async (queue) => {
        const handle = await startCampaign(env, queue);
        await until(() => late.waiting === 1 && written.at(-1) === 'paused', 'the first send paused the campaign, the second is out');
        const resumed = handle.executeUpdate(resumeUpdate, by('ann'));
        await until(() => resumeWrite.waiting === 1, 'the resume is being written');
        late.open();
        // The second send's pause has reached the campaign, which has handled it.
        await untilHandled(handle, 'pause', 2);
        resumeWrite.open();
        assert.deepEqual(await resumed, { status: 'sending' });
        await until(() => sent.length === 2, 'both messages to go out after the resume');
        assert.deepEqual(await handle.result(), { status: 'completed' });
      });
    } finally {
      late.open();
      resumeWrite.open();
    }
    assert.deepEqual(written, ['sending', 'paused', 'sending', 'completed'], 'paused once, by the first refusal');
    assert.deepEqual(sent.sort(), [1, 2], 'each sent once');
  });

  test('cancel with a send in flight that stops within 10 s: cancelling in the record first, answered cancelled', async () => {
    const slot = gate();
    const w = world({ slot, recipients: 3 });
    try {
      await tier.run(w.stubs.activities, async (queue) => {
        const handle = await startCampaign(env, queue);
        await until(() => slot.waiting === 3, 'three sends wait for their SMTP slots');
        const answer = handle.executeUpdate(cancelUpdate, by('ann'));
        await until(() => w.written.includes('cancelling'), 'cancelling is recorded');
        assert.equal((await handle.query(statusQuery)).status, 'cancelling');
        slot.open();
        assert.deepEqual(await answer, { status: 'cancelled' });
        assert.deepEqual(await handle.result(), { status: 'cancelled' });
      });
    } finally {
      slot.open();
    }
    assert.deepEqual(w.written, ['sending', 'cancelling', 'cancelled']);
    assert.deepEqual(w.stubs.order('setCampaignStatus', 'finishCancel'), ['setCampaignStatus', 'setCampaignStatus', 'finishCancel']);
    assert.deepEqual(w.sent, []);
  });

  // On a server of its own (FRESH_CLOCK): the earlier tests here end campaigns a moment before
  // their delivery children now and then (the cancel with three sends in flight, under load), and
  // the lock that leaves makes the server's clock run at the wall clock's pace, so the answer's
  // 10 s were waited in full (the sleep took 15 s of wall time, and time was not skipped even
  // before it).
  test('cancel with a send in flight beyond 10 s: answered cancelling, cancelled when the send has stopped', () => onFreshServer(async () => {
    // A send retrying after 4xx replies: in flight, with no activity running, so the server's
    // clock can skip the cancel answer's 10 s (a held activity would hold the clock).
    let smtpDown = true;
    const w = world({ smtpDown: () => smtpDown });
    // The wall time of the answer's wait alone: the whole test (worker start included) can take
    // longer than 10 s on a loaded machine without anything being waited.
    let answerWall = Infinity;
    await tier.run(w.stubs.activities, async (queue) => {
      const handle = await startCampaign(env, queue);
      await until(() => w.stubs.inputs('sendMessage').length === 1, 'the first attempt failed');
      const answer = handle.executeUpdate(cancelUpdate, by('ann'));
      await until(() => w.written.includes('cancelling'), 'cancelling is recorded');
      const waitStart = Date.now();
      await env.sleep('15 seconds');
      assert.deepEqual(await answer, { status: 'cancelling' });
      answerWall = Date.now() - waitStart;
      const progress = await untilStatus(handle, 'cancelling');
      assert.equal(progress.delivery.inFlight, 1);
      assert.deepEqual(w.stubs.order('finishCancel'), [], 'not finished while the send is in flight');
      smtpDown = false;
      assert.deepEqual(await handle.result(), { status: 'cancelled' });
    });
    assert.ok(answerWall < 10_000, `the answer's 10 s were skipped, not waited (${answerWall} ms of wall time)`);
    assert.deepEqual(w.written, ['sending', 'cancelling', 'cancelled']);
    assert.deepEqual(
      w.stubs.order('setCampaignStatus', 'markCancelled', 'finishCancel'),
      ['setCampaignStatus', 'setCampaignStatus', 'markCancelled', 'finishCancel'],
      'the recipient is cancelled before the campaign is',
    );
    assert.ok(w.stubs.inputs('sendMessage').length >= 3, 'the send was retried meanwhile');
    assert.deepEqual(w.sent, []);
  }));

  test('paused, then cancelled: the waiting send is cancelled and the campaign ends cancelled', async () => {
    const slot = gate();
    const w = world({ slot });
    try {
      await tier.run(w.stubs.activities, async (queue) => {
        const handle = await startCampaign(env, queue);
        await until(() => slot.waiting === 1, 'a send waits for its SMTP slot');
        await handle.executeUpdate(pauseUpdate, by('ann'));
        slot.open();
        await until(() => w.stubs.inputs('sendMessage').length === 1 && slot.waiting === 0, 'the send found the campaign paused');
        assert.deepEqual(await handle.executeUpdate(cancelUpdate, by('ann')), { status: 'cancelled' });
        assert.deepEqual(await handle.result(), { status: 'cancelled' });
      });
    } finally {
      slot.open();
    }
    assert.deepEqual(w.written, ['sending', 'paused', 'cancelling', 'cancelled']);
    assert.deepEqual(
      w.stubs.inputs('markCancelled').map((r) => r.recipientId),
      [1],
    );
    assert.deepEqual(w.sent, []);
  });

  test('paused while the last send is inside SMTP: the message goes out and the campaign completes', async () => {
    const smtp = gate();
    const w = world({ smtp });
    try {
      await tier.run(w.stubs.activities, async (queue) => {
        const handle = await startCampaign(env, queue);
        await until(() => smtp.waiting === 1, 'a send is inside SMTP');
        assert.deepEqual(await handle.executeUpdate(pauseUpdate, by('ann')), { status: 'paused' });
        smtp.open();
        assert.deepEqual(await handle.result(), { status: 'completed' });
        assert.equal((await handle.query(statusQuery)).status, 'completed');
      });
    } finally {
      smtp.open();
    }
    assert.deepEqual(w.written, ['sending', 'paused', 'completed']);
    assert.deepEqual(w.sent, [1]);
  });

  test('completed: pause, resume and cancel are refused with the status', async () => {
    const complete = gate();
    const w = world({ complete });
    try {
      await tier.run(w.stubs.activities, async (queue) => {
        const handle = await startCampaign(env, queue);
        await until(() => complete.waiting === 1, 'the campaign completes');
        await refused(handle.executeUpdate(pauseUpdate, by('ann')), 'completed');
        await refused(handle.executeUpdate(resumeUpdate, by('ann')), 'completed');
        await refused(handle.executeUpdate(cancelUpdate, by('ann')), 'completed');
        complete.open();
        assert.deepEqual(await handle.result(), { status: 'completed' });
      });
    } finally {
      complete.open();
    }
    assert.deepEqual(w.written, ['sending', 'completed']);
  });
});

describe('waiting for a send window', () => {
  test('paused while a send waits for its window: at the opening the send finds the campaign paused; it goes out once after resume', () => onFreshServer(async () => {
    const opensAt = (await env.currentTimeMs()) + 2 * 3600_000;
    const w = world({ windowOpensAt: opensAt });
    await tier.run(w.stubs.activities, async (queue) => {
      const handle = await startCampaign(env, queue);
      await until(() => w.stubs.inputs('sendMessage').length === 1, 'the send is told to wait for the window');
      assert.deepEqual(await handle.executeUpdate(pauseUpdate, by('ann', 'wrong attachment')), { status: 'paused' });
      await env.sleep('3 hours'); // past the opening, on the server's clock
      await until(() => w.stubs.inputs('sendMessage').length === 2, 'the send tried again at the opening');
      const paused = await untilStatus(handle, 'paused');
      assert.equal(paused.delivery.inFlight, 1, 'the recipient waits for resume, still in flight');
      assert.deepEqual(w.sent, [], 'nothing sent while paused, window open or not');
      assert.deepEqual(await handle.executeUpdate(resumeUpdate, by('ann')), { status: 'sending' });
      assert.deepEqual(await handle.result(), { status: 'completed' });
    });
    assert.deepEqual(w.written, ['sending', 'paused', 'sending', 'completed']);
    assert.deepEqual(w.sent, [1], 'sent once');
  }));

  test('cancelled while a send waits for its window: the wait ends at once, nothing is sent, the campaign ends cancelled', async () => {
    const opensAt = (await env.currentTimeMs()) + 24 * 3600_000;
    const w = world({ windowOpensAt: opensAt });
    await tier.run(w.stubs.activities, async (queue) => {
      const handle = await startCampaign(env, queue);
      await until(() => w.stubs.inputs('sendMessage').length === 1, 'the send is told to wait for the window');
      assert.deepEqual(await handle.executeUpdate(cancelUpdate, by('ann')), { status: 'cancelled' });
      // Read when the cancel is answered: waiting for the result lets the server's clock skip to
      // whatever timer is next on it (another test's included), so a later reading proves nothing.
      assert.ok((await env.currentTimeMs()) < opensAt, 'cancelled before the window opened, not at its opening');
      assert.deepEqual(await handle.result(), { status: 'cancelled' });
    });
    assert.deepEqual(w.written, ['sending', 'cancelling', 'cancelled']);
    assert.deepEqual(w.stubs.inputs('markCancelled').map((r) => r.recipientId), [1]);
    assert.equal(w.stubs.inputs('sendMessage').length, 1, 'never tried again');
    assert.deepEqual(w.sent, []);
  });
});

describe('failed build', () => {
  test('a build that gives up (non-retryable failure) ends failed with the reason', async () => {
    const stubs = stubActivities({
      buildRecipients: () => {
        throw ApplicationFailure.nonRetryable('S3 refused: AccessDenied', BUILD_REFUSED);
      },
    });
    await tier.run(stubs.activities, async (queue) => {
      const handle = await startCampaign(env, queue);
      assert.deepEqual(await handle.result(), { status: 'failed' });
      const progress = await handle.query(statusQuery);
      assert.equal(progress.status, 'failed');
      assert.equal(progress.reason, 'the recipient list could not be built: S3 refused: AccessDenied');
    });
    assert.deepEqual(
      stubs.inputs('abandonBuild').map((a) => a.reason),
      ['the recipient list could not be built: S3 refused: AccessDenied'],
    );
    assert.equal(stubs.inputs('buildRecipients').length, 1, 'not retried');
    assert.deepEqual(stubs.order('recordDecision', 'nextRecipients', 'sendMessage'), []);
  });

  test('a build that answers an error ends failed with it', async () => {
    const stubs = stubActivities({
      buildRecipients: () => ({ error: 'the CSV has no email column', total: 0, sendable: 0, blocked: 0 }),
    });
    await tier.run(stubs.activities, async (queue) => {
      const handle = await startCampaign(env, queue);
      assert.deepEqual(await handle.result(), { status: 'failed' });
      assert.equal((await handle.query(statusQuery)).reason, 'the CSV has no email column');
    });
    assert.deepEqual(
      stubs.inputs('setCampaignStatus').map((s) => [s.status, s.reason]),
      [['failed', 'the CSV has no email column']],
    );
    assert.deepEqual(stubs.order('recordDecision', 'nextRecipients', 'sendMessage'), []);
  });
});
