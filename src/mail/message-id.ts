import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';

// Message-IDs of campaign messages: `<campaignId.recipientId.v<version>.<mac>@domain>`. The id is
// deterministic (every attempt, the Sent copy and its dedupe see the same one), and the MAC (the
// first 120 bits of an HMAC-SHA256 over campaign, recipient and version, in lower-case base32) is
// made under a key derived from MASTER_KEY with its own purpose label, so nobody can derive another
// recipient's id from their own. Mail from outside (bounces) counts only when it quotes an id whose
// MAC verifies: MessageIds.verify. Ids made under a key in MASTER_KEY_PREVIOUS keep verifying.
//
// A message keeps the id it was first attempted with (the ledger holds it): ids made before this
// format, or under an older key, are reused by retries and the Sent copy, but never verify.

export interface MessageIdSettings {
  masterKey?: string;
  /** MASTER_KEY_PREVIOUS: ids made under an older master key keep verifying. */
  previousMasterKeys?: readonly string[];
}

const INFO = 'campaign-mailer message-id v1';
const MAC_BYTES = 15; // 120 bits: 24 base32 characters
const derive = (secret: string) => Buffer.from(hkdfSync('sha256', secret, '', INFO, 32));

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

function base32(bytes: Buffer): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out;
}

function mac(key: Buffer, campaignId: string, recipientId: number, version: number): string {
  const digest = createHmac('sha256', key).update([INFO, campaignId.toLowerCase(), String(recipientId), String(version)].join('\0')).digest();
  return base32(digest.subarray(0, MAC_BYTES));
}

/** The Message-ID, with a MAC under `key` when there is one. */
function idUnder(key: Buffer | undefined, campaignId: string, recipientId: number, fromAddress: string, version: number): string {
  const domain = fromAddress.split('@').pop() || 'campaign-mailer.invalid';
  const tag = key ? `.${mac(key, campaignId, recipientId, version)}` : '';
  return `<${campaignId}.${recipientId}.v${version}${tag}@${domain}>`;
}

/**
 * A Message-ID without a MAC: what an installation without MASTER_KEY makes, and what no report
 * can be attributed to. For benchmarks and tests; the send uses MessageIds.idFor.
 */
export const messageIdFor = (campaignId: string, recipientId: number, fromAddress: string, version = 1): string =>
  idUnder(undefined, campaignId, recipientId, fromAddress, version);

const ID = /^<?([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.([1-9][0-9]{0,9})\.v([1-9][0-9]{0,5})\.([a-z2-7]{24})@[^<>\s@]+>?$/i;

/**
 * How this process makes and checks Message-IDs: under MASTER_KEY, checking MASTER_KEY_PREVIOUS
 * too. Built once in the worker's and the API's composition roots (messageIdsFrom) and passed on.
 */
export class MessageIds {
  private readonly keys: readonly Buffer[];

  constructor(s: MessageIdSettings = {}) {
    this.keys = [s.masterKey, ...(s.previousMasterKeys ?? [])].filter((k): k is string => !!k).map(derive);
  }

  /** Whether ids are made with a MAC here (MASTER_KEY is configured): without one, no report can be attributed. */
  verifiable(): boolean {
    return this.keys.length > 0;
  }

  /**
   * The Message-ID of a campaign's message to one recipient. It depends only on the campaign, the
   * recipient, the content version and the installation's key, so every attempt and the Sent copy
   * carry the same one. Without a configured key the id has no MAC (and no report about it counts).
   */
  idFor(campaignId: string, recipientId: number, fromAddress: string, version = 1): string {
    return idUnder(this.keys[0], campaignId, recipientId, fromAddress, version);
  }

  /**
   * The campaign and recipient a Message-ID names, only when it is one this installation made: its
   * MAC verifies under MASTER_KEY or a key in MASTER_KEY_PREVIOUS (compared in constant time).
   * Anything else (another format, a guessed or altered id, an id made before MACs) is undefined.
   */
  verify(id: string): { campaignId: string; recipientId: number } | undefined {
    const m = ID.exec(id.trim());
    if (!m) return undefined;
    const campaignId = m[1]!.toLowerCase();
    const recipientId = Number(m[2]);
    const version = Number(m[3]);
    if (recipientId >= 2 ** 31) return undefined;
    const given = Buffer.from(m[4]!.toLowerCase());
    const ok = this.keys.some((key) => {
      const expected = Buffer.from(mac(key, campaignId, recipientId, version));
      return expected.length === given.length && timingSafeEqual(expected, given);
    });
    return ok ? { campaignId, recipientId } : undefined;
  }
}

/** The MessageIds of a process's configuration (MASTER_KEY, MASTER_KEY_PREVIOUS). */
export function messageIdsFrom(config: { MASTER_KEY?: string; MASTER_KEY_PREVIOUS?: readonly string[] }): MessageIds {
  return new MessageIds({ masterKey: config.MASTER_KEY, previousMasterKeys: config.MASTER_KEY_PREVIOUS });
}
