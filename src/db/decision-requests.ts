import type { Db } from './sql.js';

/** A decision the REST API authenticated, waiting for the workflow's activity to record it. */
export interface DecisionRequest {
  id: string;
  tenant: string;
  campaignId: string;
  action: string;
  principal: string;
  person: string;
}

/** Stores the request; a retry of one (the same id, from its Idempotency-Key) keeps the row it finds. */
export async function insertDecisionRequest(db: Db, r: DecisionRequest): Promise<void> {
  await db`
    INSERT INTO decision_requests (id, tenant, campaign_id, action, principal, person)
    VALUES (${r.id}, ${r.tenant}, ${r.campaignId}, ${r.action}, ${r.principal}, ${r.person})
    ON CONFLICT (id) DO NOTHING`;
}

/** Takes (and deletes) the request: each is honoured once, for its own campaign and action only. */
export async function takeDecisionRequest(db: Db, id: string, campaignId: string, action: string): Promise<DecisionRequest | undefined> {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)) return undefined;
  const [row] = await db<DecisionRequest[]>`
    DELETE FROM decision_requests WHERE id = ${id} AND campaign_id = ${campaignId} AND action = ${action}
    RETURNING id, tenant, campaign_id, action, principal, person`;
  return row;
}

/** A request the workflow answered (refused, or applied and taken): it will never be recorded again. */
export async function deleteDecisionRequest(db: Db, id: string): Promise<void> {
  await db`DELETE FROM decision_requests WHERE id = ${id}`;
}
