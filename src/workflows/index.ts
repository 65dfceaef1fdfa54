// The worker's workflow bundle entry: every workflow type it hosts.
export { campaignWorkflow } from './campaign.js';
export { deliveryWorkflow } from './delivery.js';
export { testSendWorkflow } from './test-send.js';
export { bounceCheckWorkflow } from './bounce-check.js';
