import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';

export interface TestSendInput {
  campaignId: string;
  recipientId: number;
  to: string;
}

const acts = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumAttempts: 3 },
});

/**
 * One rendered message to a test address. It runs on the worker because only the worker holds
 * the SMTP credentials; the API starts it and waits for the answer.
 */
export async function testSendWorkflow(input: TestSendInput): Promise<{ messageId: string; response: string }> {
  return acts.testSend(input);
}
