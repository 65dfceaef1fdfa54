import { proxyActivities } from '@temporalio/workflow';
import type { BounceCheckInput, createBounceActivities } from '../activities/bounces.js';
import type { BounceCheckResult } from '../bounces/inbox.js';

const { checkBounces } = proxyActivities<ReturnType<typeof createBounceActivities>>({
  startToCloseTimeout: '30 minutes',
  // Each message read heartbeats: a silent check is a dead worker.
  heartbeatTimeout: '2 minutes',
  // The Schedule runs the next check in a few minutes: an unreachable server is not retried for long.
  retry: { maximumAttempts: 3, initialInterval: '10 seconds' },
});

/** One look at an account's INBOX for bounces, started by the account's Schedule (src/bounces/check-schedules.ts). */
export async function bounceCheckWorkflow(input: BounceCheckInput): Promise<BounceCheckResult> {
  return checkBounces(input);
}
