import { ApplicationFailure, Context } from '@temporalio/activity';
import { recipientInputSchema } from '../contract/campaign.js';
import * as campaigns from '../db/campaigns.js';
import * as recipients from '../db/recipients.js';
import { CampaignRenderer, type RecipientFields } from '../mail/message.js';
import { TemplateRenderError } from '../mail/templates.js';
import { CAMPAIGN_NOT_FOUND, type ActivityDeps, type CampaignRef } from './deps.js';

export interface BuildResult {
  /** Set when the campaign as a whole cannot be built; no recipient is sendable then. */
  error?: string;
  total: number;
  sendable: number;
  blocked: number;
  /** The campaign's startAt, if it has one. */
  startAt?: string;
}

const BUILD_BATCH = 1000;

/** Building and validating a campaign's recipient list. */
export function createBuildActivities({ sql }: ActivityDeps) {
  async function loadCampaign(campaignId: string) {
    const campaign = await campaigns.getCampaign(sql, campaignId);
    if (!campaign) throw ApplicationFailure.nonRetryable(`campaign ${campaignId} does not exist`, CAMPAIGN_NOT_FOUND);
    return campaign;
  }

  return {
    /**
     * Validates the campaign's recipient list and writes it to Postgres in batches, returning
     * only counts so the workflow history stays the same size whatever the list length.
     */
    async buildRecipients({ campaignId }: CampaignRef): Promise<BuildResult> {
      const campaign = await loadCampaign(campaignId);
      const source = await campaigns.getCampaignSource(sql, campaignId);
      if (!source || source.type !== 'inline' || !Array.isArray(source.recipients) || source.recipients.length === 0) {
        return { error: 'the campaign has no recipients', total: 0, sendable: 0, blocked: 0 };
      }
      let renderer: CampaignRenderer;
      try {
        renderer = new CampaignRenderer(campaign.definition);
      } catch (err) {
        return { error: `the campaign's templates do not compile: ${(err as Error).message}`, total: 0, sendable: 0, blocked: 0 };
      }
      const list = source.recipients;
      for (let start = 0; start < list.length; start += BUILD_BATCH) {
        const batch: recipients.NewRecipient[] = [];
        list.slice(start, start + BUILD_BATCH).forEach((raw, i) => {
          const id = start + i + 1;
          const parsed = recipientInputSchema.safeParse(raw);
          if (!parsed.success) {
            const email = typeof (raw as { email?: unknown })?.email === 'string' ? (raw as { email: string }).email : '';
            batch.push({
              id,
              email,
              name: null,
              vars: {},
              buildStatus: 'blocked',
              buildReasons: parsed.error.issues.map((x) => `${x.path.join('.') || 'recipient'}: ${x.message}`),
            });
            return;
          }
          const fields: RecipientFields = {
            id,
            email: parsed.data.email,
            name: parsed.data.name ?? null,
            vars: parsed.data.vars ?? {},
          };
          const reasons: string[] = [];
          try {
            renderer.render(fields);
          } catch (err) {
            if (!(err instanceof TemplateRenderError)) throw err;
            reasons.push(`template: ${err.message}`);
          }
          batch.push({ ...fields, buildStatus: reasons.length ? 'blocked' : 'ready', buildReasons: reasons });
        });
        await recipients.insertRecipients(sql, campaignId, batch);
        Context.current().heartbeat({ built: Math.min(start + BUILD_BATCH, list.length) });
      }
      const counts = await recipients.buildStatusCounts(sql, campaignId);
      return {
        total: list.length,
        sendable: counts.ready + counts.warning,
        blocked: counts.blocked,
        startAt: campaign.definition.startAt,
      };
    },
  };
}
