import { createHash, randomUUID } from 'node:crypto';
import { Router } from 'express';
import type { z } from 'zod';
import { approveSchema, continueSchema, controlSchema, decisionSchema } from '../../contract/campaign.js';
import { transitionResponse, transitionUnderWayResponse } from '../../contract/responses.js';
import * as campaigns from '../../db/campaigns.js';
import { deleteDecisionRequest, insertDecisionRequest } from '../../db/decision-requests.js';
import { fourEyesRefusal } from '../../review/four-eyes.js';
import { pilotStopReason } from '../../contract/pilot.js';
import { ACTION_STATUSES } from '../../contract/statuses.js';
import { pilotOutcome } from '../../db/recipients.js';
import { campaignLoader } from '../campaign-access.js';
import { ApiError } from '../errors.js';
import { idempotencyKeyOf } from '../create-campaign.js';
import { reviewFingerprint } from '../fingerprint.js';
import { transition, UPDATE_DEADLINE_MS, type LifecycleAction } from '../lifecycle.js';
import { campaignParam } from '../params.js';
import { route } from '../route-spec.js';
import type { Scope } from '../scopes.js';
import type { ResolvedDeps } from '../deps.js';

const ACTIONS: Record<LifecycleAction, { scope: Scope; summary: string }> = {
  approve: { scope: 'campaigns:review', summary: 'Approve a campaign awaiting review' },
  reject: { scope: 'campaigns:review', summary: 'Reject a campaign awaiting review or waiting after its pilot batch' },
  continue: { scope: 'campaigns:review', summary: 'Send the rest of a campaign after its pilot batch (`force`: although the pilot reached its stopIf share)' },
  pause: { scope: 'campaigns:write', summary: 'Pause a campaign: no new sends until it is resumed' },
  resume: { scope: 'campaigns:write', summary: 'Resume a paused campaign where it stopped' },
  cancel: { scope: 'campaigns:write', summary: 'Cancel a campaign: nothing more is sent; unsent recipients become cancelled' },
};

/** The statuses `action` is allowed in, read from the rule (ACTION_STATUSES) as words: "scheduled or sending". */
function allowedFromText(action: LifecycleAction): string {
  const words = ACTION_STATUSES[action].map((s) => s.replaceAll('_', ' '));
  return words.length > 1 ? `${words.slice(0, -1).join(', ')} or ${words.at(-1)}` : words.join('');
}

/**
 * The request's id, which names its Update in Temporal: from an Idempotency-Key, the same for a
 * retry by the same principal of the same action on the same campaign (Temporal answers the
 * Update it already has, never applying it twice); else a new one.
 */
function requestIdOf(key: string | undefined, o: { tenant: string; principal: string; campaignId: string; action: string }): string {
  if (key === undefined) return randomUUID();
  const h = createHash('sha256').update(JSON.stringify([o.tenant, o.principal, o.campaignId, o.action, key])).digest('hex');
  // A UUID (version 8, RFC 9562: custom) from the hash: decision_requests ids are UUIDs.
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-${((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/**
 * POST /campaigns/:id/{approve,reject,continue,pause,resume,cancel}: each is an Update the workflow may
 * refuse, so the answer is the workflow's own: 200 { status } or 409 { error, status }. Without its
 * answer in time the API says how far the Update got, never that it was not recorded: 202 when the
 * workflow accepted it and is applying it, 503 when no worker has taken it yet (Temporal holds it).
 */
const ACCEPTED_TEXT = 'The campaign accepted the action and is applying it, without its result in time: `status` is what the record read then, `pending` the action under way';
const PENDING_TEXT = 'No worker took the action in time (`pending` names it; not applied yet, nor refused: Temporal keeps it for the next worker, which applies it if the campaign still allows it), or PostgreSQL or Temporal is unreachable. Read the campaign before asking again, after the time in Retry-After; the same Idempotency-Key is the same action, never applied twice';

export function campaignActionRouter({ sql, client, logger }: Pick<ResolvedDeps, 'sql' | 'client' | 'logger'>): Router {
  const router = Router();
  const load = campaignLoader(sql);

  for (const [action, spec] of Object.entries(ACTIONS) as [LifecycleAction, (typeof ACTIONS)[LifecycleAction]][]) {
    const review = action === 'approve' || action === 'reject' || action === 'continue';
    const schema: z.ZodType<{ note?: string; reason?: string; fingerprint?: string; force?: boolean }> =
      action === 'approve' ? approveSchema : action === 'continue' ? continueSchema : review ? decisionSchema : controlSchema;
    router.post(`/campaigns/:id/${action}`, route({ scope: spec.scope, summary: spec.summary, params: { id: campaignParam }, load, body: schema, response: transitionResponse, also: { 202: { description: ACCEPTED_TEXT, response: transitionUnderWayResponse } }, errors: { 503: PENDING_TEXT } }, async ({ caller, loaded: c, body }, req, res) => {
      const idempotencyKey = idempotencyKeyOf(req);
      await refuseBeforeUpdate(sql, action, c, caller, body);
      // The workflow's activity writes the audit row in the transaction of the change, under the
      // caller recorded here: one row per decision, whichever path a decision comes by.
      const requestId = requestIdOf(idempotencyKey, { tenant: caller.tenant, principal: caller.principal, campaignId: c.id, action });
      await insertDecisionRequest(sql, { id: requestId, tenant: caller.tenant, campaignId: c.id, action, principal: caller.principal, person: caller.person });
      const arg = review ? { by: caller.principal, note: body.note, requestId, ...(body.force ? { force: true } : {}) } : { by: caller.principal, reason: body.reason, requestId };
      const outcome = await transition(client, c.id, action, arg);
      // An Update the workflow accepted, or one still waiting for a worker, may yet be recorded,
      // under this caller: its request stays for the activity that records it.
      if (outcome.ok === false && outcome.reason === 'accepted') {
        const current = (await campaigns.getCampaign(sql, c.id))?.status ?? c.status;
        logger.warn({ campaignId: c.id, action, by: caller.principal, requestId }, 'campaign transition accepted, not finished in time');
        res.status(202).json({
          status: current,
          pending: action,
          requestId,
          message: `the campaign accepted the ${action} and is applying it; it had not finished within ${UPDATE_DEADLINE_MS / 1000} s, and the campaign read ${current} when this was answered`,
        });
        return;
      }
      if (outcome.ok === false && outcome.reason === 'pending') {
        logger.warn({ campaignId: c.id, action, by: caller.principal, requestId }, 'campaign transition not taken by a worker in time');
        res.set('Retry-After', '15');
        throw new ApiError(
          503,
          `no worker has taken the ${action} within ${UPDATE_DEADLINE_MS / 1000} s, so it is not applied yet, nor refused: Temporal keeps it for the next worker, which applies it if the campaign still allows a ${action} then. Read the campaign's status before asking again, or repeat this request with the same Idempotency-Key (the same ${action}, never applied twice)`,
          { status: c.status, pending: action, requestId },
        );
      }
      if (outcome.ok === false && outcome.reason === 'unreachable') {
        logger.warn({ campaignId: c.id, action, by: caller.principal, requestId, problem: outcome.problem }, 'campaign transition: Temporal unreachable');
        res.set('Retry-After', '15');
        throw new ApiError(
          503,
          `Temporal is unreachable (${outcome.problem}): the ${action} is not applied, and may not have reached it. Read the campaign's status once Temporal answers again, or repeat this request with the same Idempotency-Key (the same ${action}, never applied twice)`,
          { status: c.status, pending: action, requestId },
        );
      }
      // Answered: the activity took the request (a retry's Update was the one already applied), or
      // it will never be recorded.
      if (!outcome.ok || idempotencyKey !== undefined) await deleteDecisionRequest(sql, requestId);
      if (outcome.ok) {
        logger.info({ campaignId: c.id, action, by: caller.principal }, 'campaign transition');
        res.json({ status: outcome.status });
        return;
      }
      if (outcome.reason === 'forbidden') {
        throw new ApiError(403, outcome.message, { status: outcome.status ?? c.status, createdBy: c.createdBy ?? undefined });
      }
      // The workflow's own answer wins; a closed workflow answers through its final record.
      const current = (await campaigns.getCampaign(sql, c.id))?.status ?? c.status;
      if (outcome.reason === 'conflict') {
        throw new ApiError(409, outcome.message, { status: outcome.status ?? current });
      }
      throw new ApiError(409, `the campaign is ${current}, not ${allowedFromText(action)}`, { status: current });
    }));
  }

  return router;
}

/** What the API refuses before asking the workflow: four eyes, a pilot's stop rule, a review that changed since it was loaded. */
async function refuseBeforeUpdate(
  sql: ResolvedDeps['sql'],
  action: LifecycleAction,
  c: Parameters<typeof reviewFingerprint>[1] & Pick<campaigns.CampaignRow, 'pausedIn'>,
  caller: Parameters<typeof fourEyesRefusal>[3] & object,
  body: { fingerprint?: string; force?: boolean },
): Promise<void> {
    if (action === 'approve' || action === 'continue') {
      // Four eyes compares people: a second key its creator made acts for the same person.
      const refused = await fourEyesRefusal(sql, c, action, caller);
      if (refused) throw new ApiError(403, refused, { status: c.status, createdBy: c.createdBy ?? undefined });
    }
    // At pilot_sent, or beneath a pause that came while the pilot batch went out.
    const atPilotSent = c.status === 'pilot_sent' || (c.status === 'paused' && c.pausedIn === 'pilot_sent');
    if (action === 'continue' && !body.force && atPilotSent && c.definition.pilot?.stopIf) {
      // Bounces keep arriving after the pilot is out: the stop rule is asked again with them.
      const stopped = pilotStopReason(await pilotOutcome(sql, c.id), c.definition.pilot.stopIf);
      if (stopped) throw new ApiError(409, `${stopped}; continue with force to send the rest anyway`, { status: c.status });
    }
    if (action === 'approve') {
      // Bound to what the reviewer saw: a list, decision or definition changed since is a 409.
      if (body.fingerprint !== undefined && c.status === 'awaiting_review') {
        const current = await reviewFingerprint(sql, c);
        if (current !== body.fingerprint) {
          throw new ApiError(409, 'what would be sent changed since this review was loaded (a recipient decision, the list or the definition): reload the review and check it again', {
            status: c.status,
            fingerprint: current,
          });
        }
      }
    }
}
