import { createBounceActivities } from './bounces.js';
import { createBuildActivities } from './build.js';
import { createCampaignActivities } from './campaign.js';
import type { ActivityDeps } from './deps.js';
import { createDeliveryActivities } from './delivery.js';
import { createTestSendActivities } from './test-send.js';

export type { ActivityDeps } from './deps.js';
export type { SendResult } from './delivery.js';

/** Every activity the worker hosts, built over its connections. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createBuildActivities(deps),
    ...createBounceActivities(deps),
    ...createCampaignActivities(deps),
    ...createDeliveryActivities(deps),
    ...createTestSendActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
