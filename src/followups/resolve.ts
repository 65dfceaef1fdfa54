import { createCampaignRequestSchema, createCampaignSchema, isFollowUp, type CreateCampaignInput } from '../contract/campaign.js';
import { getTenantCampaign } from '../db/campaigns.js';
import type { FollowUpSource, RecipientSource } from '../db/campaigns.js';
import { followUpOf, followUpsOf } from '../db/follow-ups.js';
import type { Db } from '../db/sql.js';
import { invalidField, Refusal } from '../contract/refusal.js';
import type { TemplateKind } from '../contract/template-syntax.js';
import type { MessageKit } from '../mail/recipient-message.js';
import type { Templates } from '../mail/templates.js';

// A follow-up campaign (`recipientsFrom: { campaign, sendStatus }`) sends a campaign again to
// those of its recipients in the chosen send statuses. It keeps the original's content unless the
// body says otherwise, and goes through review like any campaign.

const NAME_MAX = 200;
const SUFFIX = ' (follow-up)';

/**
 * The campaign a POST /campaigns body asks for, checked in full. A follow-up takes every field it
 * leaves out from its original (never `startAt`, which belonged to the first send); an original
 * of another tenant is a 404, exactly like reading it.
 */
export async function resolveCampaignInput(db: Db, tenant: string, body: unknown, kit: MessageKit): Promise<CreateCampaignInput> {
  const input = await resolve(db, tenant, body);
  checkTemplateLimits(input, kit.templates);
  const unavailable = input.listUnsubscribe && kit.unsubscribeLinks.unavailable();
  if (unavailable) {
    throw invalidField('listUnsubscribe', `cannot be used on this installation: ${unavailable}`);
  }
  return input;
}

/** The schema checked each template's syntax; this installation's parse limit (TEMPLATE_PARSE_LIMIT) is checked here. */
function checkTemplateLimits(input: CreateCampaignInput, templates: Templates): void {
  const fields: [path: string, source: string | undefined, kind: TemplateKind][] = [
    ['subject', input.subject, 'plain'],
    ['text', input.text, 'plain'],
    ['html', input.html, 'html'],
    ...(input.attachments ?? []).map((a, i): [string, string, TemplateKind] => [`attachments.${i}.key`, a.key, 'plain']),
  ];
  for (const [path, source, kind] of fields) {
    const problem = source === undefined ? undefined : templates.problem(source, kind);
    if (problem) throw invalidField(path, `is not a valid template: ${problem}`);
  }
}

async function resolve(db: Db, tenant: string, body: unknown): Promise<CreateCampaignInput> {
  const asked = createCampaignRequestSchema.parse(body ?? {});
  if (!isFollowUp(asked)) return createCampaignSchema.parse(body ?? {});
  const original = await getTenantCampaign(db, tenant, asked.recipientsFrom!.campaign!);
  if (!original) throw new Refusal('not_found', 'campaign not found');
  if (original.status === 'building') {
    throw new Refusal('conflict', 'the campaign to send again from is still building its list', { status: original.status });
  }
  const { startAt: _firstSend, ...kept } = original.definition;
  const name = original.name.slice(0, NAME_MAX - SUFFIX.length) + SUFFIX;
  return createCampaignSchema.parse({ ...kept, name, ...(body as Record<string, unknown>) });
}

/**
 * The stored source of a follow-up; `failed` recipients unless the body chose others. A reminder
 * (`replied` given) is threaded unless the body says `threaded: false`; any other follow-up only
 * when it says `threaded: true`.
 */
export function followUpSource(from: { campaign?: string; sendStatus?: FollowUpSource['sendStatus']; replied?: boolean; threaded?: boolean }): FollowUpSource {
  const threaded = from.threaded ?? from.replied !== undefined;
  return {
    type: 'campaign',
    campaignId: from.campaign!,
    sendStatus: from.sendStatus ?? ['failed'],
    ...(from.replied !== undefined ? { replied: from.replied } : {}),
    ...(threaded ? { threaded } : {}),
  };
}

/** What the audit row of a follow-up's creation adds: the campaign it resends and to whom. */
export const followUpDetails = (source: RecipientSource) =>
  source.type === 'campaign'
    ? { followUpOf: source.campaignId, sendStatus: source.sendStatus, ...(source.replied !== undefined ? { replied: source.replied } : {}), ...(source.threaded ? { threaded: true } : {}) }
    : {};

/** The links of GET /campaigns/:id: the campaign this one resends from, and those that resend from it. */
export async function followUpLinks(db: Db, c: { id: string; tenant: string }) {
  const [of, ups] = await Promise.all([followUpOf(db, c.id), followUpsOf(db, c.tenant, c.id)]);
  return {
    followUpOf: of,
    followUps: ups.length ? ups.map((u) => ({ id: u.id, name: u.name, status: u.status, createdAt: u.createdAt })) : undefined,
  };
}
