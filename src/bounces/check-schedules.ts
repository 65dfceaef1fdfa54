import { ScheduleAlreadyRunning, ScheduleNotFoundError, ScheduleOverlapPolicy, type Client, type ScheduleOptions } from '@temporalio/client';
import { mailboxesWithImap } from '../db/bounces.js';
import type { Sql } from '../db/sql.js';
import type { Logger } from '../logger.js';
import { bounceCheckWorkflowId } from '../contract/workflow-ids.js';

// One Temporal Schedule per account with IMAP runs bounceCheckWorkflow every BOUNCE_CHECK_EVERY.
// Made or updated when such an account is created or changed (API), and at worker start for the
// configured account and every stored one (so a missed update is mended); removed with the account
// or its IMAP. Schedule IDs include the task queue: one installation, one set of schedules.

/** How often each account's INBOX is read: BOUNCE_CHECK_EVERY (a duration like "5 minutes"), or `off`. */
export interface BounceCheckSettings {
  every: string;
}

export const DEFAULT_BOUNCE_CHECKS: BounceCheckSettings = { every: '5 minutes' };

/** Where a process makes its schedules: its client, its task queue and how often they run. */
interface Scheduling {
  client: Client;
  taskQueue: string;
  bounceChecks: BounceCheckSettings;
}

export const bounceScheduleId = (taskQueue: string, mailbox: string) => `bounce-check:${taskQueue}:${mailbox}`;

function scheduleOptions(taskQueue: string, mailbox: string, every: string): ScheduleOptions {
  const what = mailbox === 'default' ? 'the configured account (IMAP_URL)' : `account ${mailbox}`;
  return {
    scheduleId: bounceScheduleId(taskQueue, mailbox),
    spec: { intervals: [{ every: every as '5 minutes' }] },
    action: {
      type: 'startWorkflow',
      workflowType: 'bounceCheckWorkflow',
      workflowId: bounceCheckWorkflowId(taskQueue, mailbox),
      args: [{ mailbox }],
      taskQueue,
      staticSummary: `Bounce check of ${what}`,
      staticDetails: 'Reads new INBOX messages (never deletes), records delivery status notifications about messages this installation sent (the recipient bounced, and a 5.x.x suppresses the address) and answers to them (the recipient replied, or auto_replied).',
    },
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 minute' },
    state: { note: `Reads the INBOX of ${what} every ${every} for bounces` },
  };
}

/** Creates the account's schedule, or brings an existing one up to date; idempotent. */
async function ensureBounceSchedule({ client, taskQueue, bounceChecks }: Scheduling, mailbox: string): Promise<void> {
  if (bounceChecks.every === 'off') return removeBounceSchedule(client, taskQueue, mailbox);
  const options = scheduleOptions(taskQueue, mailbox, bounceChecks.every);
  try {
    await client.schedule.create(options);
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    await client.schedule.getHandle(options.scheduleId).update((previous) => ({ ...previous, spec: options.spec, action: options.action, policies: options.policies }));
  }
}

export async function removeBounceSchedule(client: Client, taskQueue: string, mailbox: string): Promise<void> {
  try {
    await client.schedule.getHandle(bounceScheduleId(taskQueue, mailbox)).delete();
  } catch (err) {
    if (!(err instanceof ScheduleNotFoundError)) throw err;
  }
}

/** At worker start: the configured account's schedule (if it has IMAP) and every stored account's. */
export async function ensureBounceSchedules(o: Scheduling & { sql: Sql; defaultImap: boolean; logger: Logger }): Promise<void> {
  const mailboxes = [...(o.defaultImap ? ['default'] : []), ...(await mailboxesWithImap(o.sql))];
  for (const mailbox of mailboxes) {
    await ensureBounceSchedule(o, mailbox).catch((err: unknown) => o.logger.warn({ err: (err as Error).message, mailbox }, 'could not create the bounce check schedule'));
  }
}

/** After an account changed in the API: its schedule follows whether it has IMAP. Never fails the change. */
export async function syncBounceSchedule(o: Scheduling & { logger: Logger }, tenant: string, name: string, hasImap: boolean): Promise<void> {
  const mailbox = `${tenant}/${name}`;
  try {
    if (hasImap) await ensureBounceSchedule(o, mailbox);
    else await removeBounceSchedule(o.client, o.taskQueue, mailbox);
  } catch (err) {
    o.logger.warn({ err: (err as Error).message, mailbox }, 'could not update the bounce check schedule; the next worker start mends it');
  }
}
