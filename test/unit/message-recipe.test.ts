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

/** A campaign awaiting review with one-click links signed with its own key, and the kit its messages are made with. */
function recipeCampaign(): { campaign: CampaignRow; kit: MessageKit } {
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
    id, name: definition.name, status: 'awaiting_review', pausedIn: null, definition, workflowId: `campaign-${id}`, error: null, messageDate: at,
    statusReason: null, account: 'default', decidedBy: null, decisionNote: null, decidedAt: null, tenant: 'acme', createdBy: null,
    seq: '1', createdAt: at, updatedAt: at, buildProgress: null, linkKey: randomBytes(32),
  };
  return { campaign, kit };
}

/** The build's assessor of the campaign's list entries, with a size limit. */
const assessorOf = ({ campaign, kit }: { campaign: CampaignRow; kit: MessageKit }, maxMessageBytes: number) =>
  new RecipientAssessor({
    campaignId: campaign.id,
    tenant: campaign.tenant,
    definition: campaign.definition,
    linkKey: campaign.linkKey,
    s3: noS3,
    messageDate: campaign.messageDate!,
    maxMessageBytes,
    kit,
  });

/** The size the build states for an entry over the limit. */
function statedSize(reasons: string[]): number {
  const stated = /^too-large: the message is (\d+) bytes/.exec(reasons[0] ?? '');
  assert.ok(stated, `the build states a size: ${JSON.stringify(reasons)}`);
  return Number(stated[1]);
}

const ann = { email: 'ann@example.com', name: 'Ann' };

test('the build sizes the very message the send builds: same headers, same link key, same bytes', async () => {
  const c = recipeCampaign();
  // Every message is over a limit of 1 byte, so the build states its exact size.
  const assessed = await assessorOf(c, 1).assess(1, ann);
  const recipient = { ...assessed, campaignId: c.campaign.id, messageId: null, threadMessageId: null } as unknown as RecipientRow;
  const sent = await composeRecipientMessage(c.campaign, recipient, noS3, c.kit);
  assert.equal(statedSize(assessed.buildReasons), sent.raw.length, 'the size the build states is the size of the bytes sent');
  assert.match(sent.raw.toString(), /List-Unsubscribe:\s+<https:\/\/mail\.acme\.test\/unsubscribe\//);
});

test('a threaded follow-up is sized with its In-Reply-To and References: just under the limit without them, blocked with them', async () => {
  const c = recipeCampaign();
  const thread = `<${randomUUID()}.1.v1.original@acme.test>`;
  const bare = statedSize((await assessorOf(c, 1).assess(1, ann)).buildReasons);
  const threaded = await assessorOf(c, 1).assess(1, ann, thread);
  const recipient = { ...threaded, campaignId: c.campaign.id, messageId: null } as unknown as RecipientRow;
  assert.equal(recipient.threadMessageId, thread, 'the build keeps the thread it sized');
  const sent = await composeRecipientMessage(c.campaign, recipient, noS3, c.kit);
  const headers = sent.raw.toString('utf8').split('\r\n\r\n')[0]!.replace(/\r\n[ \t]+/g, ' ');
  assert.deepEqual([/^In-Reply-To: (.*)$/m.exec(headers)?.[1], /^References: (.*)$/m.exec(headers)?.[1]], [thread, thread]);
  assert.equal(statedSize(threaded.buildReasons), sent.raw.length, 'the size the build states is that of the threaded message sent');

  // A limit the message meets without the threading headers and not with them.
  const atLimit = assessorOf(c, bare);
  assert.deepEqual((await atLimit.assess(1, ann)).buildStatus, 'ready', 'unthreaded, it is within the limit');
  const blocked = await atLimit.assess(1, ann, thread);
  assert.equal(blocked.buildStatus, 'blocked');
  assert.deepEqual(blocked.buildReasons, [`too-large: the message is ${sent.raw.length} bytes, over the limit of ${bare}`]);
});
