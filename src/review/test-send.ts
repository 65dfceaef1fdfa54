import { Refusal } from '../contract/refusal.js';
import { allows } from '../contract/statuses.js';
import * as recipients from '../db/recipients.js';
import type { Sql } from '../db/sql.js';
import { suppressedAmong } from '../db/suppressions.js';
import { tenantPolicy } from '../db/tenants.js';

// A test send is part of a review: once the campaign is decided (or ended) it is no longer a way
// to send its messages anywhere, and a suppressed address gets no test message either.

/** Who asks for the test send: the admin's own key, or a key acting for a person. */
interface Tester {
  bootstrap: boolean;
  person: string;
}

/**
 * Where a test message may go: the caller's own address (its key's person, when that is an
 * address), an address or domain the admin listed for the tenant, anywhere for the admin's own key.
 */
async function isTestRecipient(sql: Sql, tester: Tester, tenant: string, to: string): Promise<boolean> {
  if (tester.bootstrap) return true;
  const address = to.toLowerCase();
  if (tester.person.toLowerCase() === address) return true;
  const listed = (await tenantPolicy(sql, tenant, [])).testSendRecipients;
  return listed.includes(address) || listed.includes(address.slice(address.lastIndexOf('@')));
}

/** Refuses a test send the review does not allow: a closed review, an address not the tester's, a suppressed one. */
async function assertTestSendAllowed(sql: Sql, tester: Tester, c: { tenant: string; status: string }, to: string): Promise<void> {
  if (!allows('testSend', c.status)) {
    throw new Refusal('conflict', `the campaign is ${c.status}; test messages are sent only while it awaits review`, { status: c.status });
  }
  if (!(await isTestRecipient(sql, tester, c.tenant, to))) {
    const problem = { path: 'to', message: `${to} is not a test address of tenant ${c.tenant}: your own address, or one the admin lists (PUT /tenants/${c.tenant} testSend.recipients)` };
    throw new Refusal('forbidden', problem.message, { problems: [problem], setting: 'testSend.recipients' });
  }
  const [suppressed] = await suppressedAmong(sql, c.tenant, [to]);
  if (suppressed) {
    throw new Refusal('conflict', `${to} is on the suppression list${suppressed.reason ? ` (${suppressed.reason})` : ''}; nothing was sent`, { status: c.status });
  }
}

/**
 * Whose message a test send renders, once it is allowed: the one asked for (not a blocked one),
 * else the first whose message can be rendered.
 */
export async function testSendRecipient(
  sql: Sql,
  tester: Tester,
  c: { id: string; tenant: string; status: string },
  o: { to: string; recipientId?: number },
): Promise<number> {
  await assertTestSendAllowed(sql, tester, c, o.to);
  if (o.recipientId === undefined) {
    const [first] = await recipients.recipientsByBuildStatus(sql, c.id, ['ready', 'warning', 'needs_review'], 0, 1);
    if (!first) throw new Refusal('conflict', 'the campaign has no recipient whose message can be rendered', { status: c.status });
    return first.id;
  }
  const r = await recipients.getRecipient(sql, c.id, o.recipientId);
  if (!r) throw new Refusal('not_found', 'recipient not found');
  if (r.buildStatus === 'blocked') throw new Refusal('conflict', `recipient ${r.id} is blocked: ${r.buildReasons.join('; ')}`, { status: r.buildStatus });
  return r.id;
}
