import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { TEST_SEND_ATTEMPT_MS, TEST_SEND_BUDGET_MS } from '../contract/test-send.js';

export interface TestSendInput {
  campaignId: string;
  recipientId: number;
  to: string;
}

// An attempt that stalls is cut at TEST_SEND_ATTEMPT_MS and tried again; all of them end within
// TEST_SEND_BUDGET_MS, inside the API's deadline, so the person gets the workflow's own answer
// (sent, refused, or timed out), never the API giving up on a send that may go later.
const acts = proxyActivities<Activities>({
  startToCloseTimeout: TEST_SEND_ATTEMPT_MS,
  scheduleToCloseTimeout: TEST_SEND_BUDGET_MS,
  retry: { initialInterval: '1 second', maximumAttempts: 3 },
});

/**
 * One rendered message to a test address. It runs on the worker because only the worker holds
 * the SMTP credentials; the API starts it and waits for the answer.
 */
export async function testSendWorkflow(input: TestSendInput): Promise<{ messageId: string; response: string }> {
  return acts.testSend(input);
}
