import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { createCampaignSchema } from '../../src/contract/campaign.js';
import { RecipientAssessor } from '../../src/build/assess.js';
import type { CampaignRow } from '../../src/db/campaigns.js';
import type { RecipientRow } from '../../src/db/recipients.js';
import { MessageIds } from '../../src/mail/message-id.js';
import { composeRecipientMessage, type MessageKit } from '../../src/mail/recipient-message.js';
import { Templates } from '../../src/mail/templates.js';
import type { S3Store } from '../../src/s3/client.js';
import { UnsubscribeLinks } from '../../src/unsubscribe/token.js';

// The build's size check and the send put a message together from one recipe (messageParts):
// the size the build states is the size of the bytes sent, List-Unsubscribe headers included,
// signed with the campaign's own link key.

// No attachments: the store is never asked.
const noS3 = {} as S3Store;

test('the build sizes the very message the send builds: same headers, same link key, same bytes', async () => {
  // Links are signed with the campaign's key only: the installation has no key of its own.
  const kit: MessageKit = {
    templates: new Templates(),
    unsubscribeLinks: new UnsubscribeLinks({ publicUrl: 'https://mail.acme.test' }),
    messageIds: new MessageIds({ masterKey: randomBytes(32).toString('base64') }),
  };
  const definition = createCampaignSchema.parse({
    name: 'Recipe',
    from: 'news@acme.test',
    subject: 'For {{ name }}',
    text: 'Hello {{ name }}',
    listUnsubscribe: { oneClick: true, mailto: 'leave@acme.test' },
    recipients: [{ email: 'ann@example.com', name: 'Ann' }],
  });
  const at = new Date('2026-12-01T09:00:00Z');
  const id = randomUUID();
  const campaign: CampaignRow = {
    id, name: definition.name, status: 'awaiting_review', definition, workflowId: `campaign-${id}`, error: null, messageDate: at,
    statusReason: null, account: 'default', decidedBy: null, decisionNote: null, decidedAt: null, tenant: 'acme', createdBy: null,
    seq: '1', createdAt: at, updatedAt: at, buildProgress: null, linkKey: randomBytes(32),
  };
  const assessor = new RecipientAssessor({
    campaignId: campaign.id,
    tenant: campaign.tenant,
    definition,
    linkKey: campaign.linkKey,
    s3: noS3,
    messageDate: campaign.messageDate!,
    maxMessageBytes: 1, // every message is over it, so the build states its exact size
    kit,
  });
  const assessed = await assessor.assess(1, { email: 'ann@example.com', name: 'Ann' });
  const stated = /^too-large: the message is (\d+) bytes/.exec(assessed.buildReasons[0] ?? '');
  assert.ok(stated, `the build states a size: ${JSON.stringify(assessed.buildReasons)}`);

  const recipient = { ...assessed, campaignId: campaign.id, messageId: null, threadMessageId: null } as unknown as RecipientRow;
  const sent = await composeRecipientMessage(campaign, recipient, noS3, kit);
  assert.equal(Number(stated[1]), sent.raw.length, 'the size the build states is the size of the bytes sent');
  assert.match(sent.raw.toString(), /List-Unsubscribe:\s+<https:\/\/mail\.acme\.test\/unsubscribe\//);
});
