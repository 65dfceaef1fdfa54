// Task queues and workflow IDs: the API starts and finds workflows by these, the worker polls them.
// Plain constants only: workflow code imports this file.

/** Task queue the worker polls and the API starts campaigns on, unless configured otherwise. */
export const DEFAULT_TASK_QUEUE = 'campaign-mailer';
/** The task queue of the SMTP sends, polled with as many slots as the connections can serve. */
export const sendTaskQueue = (taskQueue: string): string => `${taskQueue}-send`;

export const campaignWorkflowId = (campaignId: string): string => `campaign-${campaignId}`;
export const deliveryWorkflowId = (campaignId: string, recipientId: number): string =>
  `campaign-${campaignId}-r-${recipientId}`;
/** A test send: one workflow per request, beside its campaign's. */
export const testSendWorkflowId = (campaignId: string, requestId: string): string => `${campaignWorkflowId(campaignId)}-test-${requestId}`;
/**
 * The bounce check of one mailbox (`default`, or `tenant/account`): tenants and account names
 * hold neither `/` nor `:`, so `a-b/c` and `a/b-c` never share an id.
 */
export const bounceCheckWorkflowId = (taskQueue: string, mailbox: string): string => `bounce-check:${taskQueue}:${mailbox}`;
