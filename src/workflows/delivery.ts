import { ActivityFailure, proxyActivities, log } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';

export interface DeliveryInput {
  campaignId: string;
  recipientId: number;
}

export interface DeliveryResult {
  send: 'sent' | 'failed';
  copy: 'appended' | 'failed' | 'not_requested';
}

// Sending and filing the Sent copy retry independently: a message can be sent while its copy
// is still being retried, and an IMAP outage never holds back or fails the send.
const send = proxyActivities<Activities>({
  startToCloseTimeout: '3 minutes',
  scheduleToCloseTimeout: '24 hours',
  retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '10 minutes' },
});

const copy = proxyActivities<Activities>({
  startToCloseTimeout: '3 minutes',
  scheduleToCloseTimeout: '72 hours',
  retry: { initialInterval: '10 seconds', backoffCoefficient: 2, maximumInterval: '30 minutes' },
});

const bookkeeping = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute' },
});

export async function deliveryWorkflow(input: DeliveryInput): Promise<DeliveryResult> {
  let sent;
  try {
    sent = await send.sendMessage(input);
  } catch (err) {
    if (!(err instanceof ActivityFailure)) throw err;
    const reason = `gave up sending: ${err.cause?.message ?? err.message}`;
    log.warn(reason);
    await bookkeeping.markSendFailed({ ...input, reason });
    return { send: 'failed', copy: 'not_requested' };
  }
  if (sent.outcome !== 'sent') return { send: 'failed', copy: 'not_requested' };
  if (!sent.copyRequested) return { send: 'sent', copy: 'not_requested' };

  try {
    await copy.appendToSent(input);
    return { send: 'sent', copy: 'appended' };
  } catch (err) {
    if (!(err instanceof ActivityFailure)) throw err;
    const reason = `gave up filing the Sent copy: ${err.cause?.message ?? err.message}`;
    log.warn(reason);
    await bookkeeping.markCopyFailed({ ...input, reason });
    return { send: 'sent', copy: 'failed' };
  }
}
