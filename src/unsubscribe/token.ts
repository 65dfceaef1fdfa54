import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';

// One-click unsubscribe links (RFC 8058, RFC 2369). A link names a campaign and a recipient and
// carries an HMAC-SHA256 over the tenant, the campaign, the recipient and the address, under the
// campaign's own random link key, so no rotation of the installation's keys breaks a link that is
// out in the world. Campaigns from before link keys use a key of the installation: UNSUBSCRIBE_KEY,
// else one derived from MASTER_KEY. Changing any part of a
// link, or moving its MAC to another recipient, makes it invalid. The address is not in the URL:
// the API reads it from the recipient the link names and checks the MAC over it.

export interface UnsubscribeSettings {
  /** PUBLIC_URL: where the API is reached from the internet (https in production). */
  publicUrl?: string;
  /** UNSUBSCRIBE_KEY, if set (at least 32 characters). */
  key?: string;
  masterKey?: string;
  /** MASTER_KEY_PREVIOUS: links made under an older master key keep working. */
  previousMasterKeys?: readonly string[];
}

export interface LinkSubject {
  tenant: string;
  campaignId: string;
  recipientId: number;
  email: string;
  /** The campaign's link key (campaigns.link_key); absent for campaigns made before link keys. */
  linkKey?: Buffer | null;
}

const INFO = 'campaign-mailer list-unsubscribe v1';
const derive = (secret: string) => Buffer.from(hkdfSync('sha256', secret, '', INFO, 32));

/** The keys links are checked under, the first also making them; none when nothing is configured. */
function keysOf(s: UnsubscribeSettings): Buffer[] {
  if (s.key) return [derive(s.key)];
  return [s.masterKey, ...(s.previousMasterKeys ?? [])].filter((k): k is string => !!k).map(derive);
}

function mac(key: Buffer, s: LinkSubject): string {
  return createHmac('sha256', key)
    .update([INFO, s.tenant, s.campaignId, String(s.recipientId), s.email.toLowerCase()].join('\0'))
    .digest('base64url');
}

/**
 * The links of one process, under its configuration (PUBLIC_URL, UNSUBSCRIBE_KEY, MASTER_KEY and
 * MASTER_KEY_PREVIOUS): built once in the worker's and the API's composition roots and passed on.
 */
export class UnsubscribeLinks {
  private readonly keys: Buffer[];

  constructor(private readonly settings: UnsubscribeSettings = {}) {
    this.keys = keysOf(settings);
  }

  /** Why links cannot be made here, if they cannot. */
  unavailable(): string | undefined {
    if (!this.settings.publicUrl) return 'PUBLIC_URL is not configured';
    if (this.keys.length === 0) return 'neither UNSUBSCRIBE_KEY nor MASTER_KEY is configured';
    return undefined;
  }

  /** Whether `given` is the MAC of `s` under a key of this installation (in constant time). */
  matches(given: string, s: LinkSubject): boolean {
    const a = Buffer.from(given);
    return this.keysFor(s).some((key) => {
      const b = Buffer.from(mac(key, s));
      return a.length === b.length && timingSafeEqual(a, b);
    });
  }

  /**
   * The RFC 2369 / RFC 8058 headers of one recipient's message: an HTTPS URI (and a mailto, if the
   * campaign gives one) in List-Unsubscribe, and List-Unsubscribe-Post for the one-click POST.
   */
  headers(s: LinkSubject, mailto?: string): { key: string; value: string }[] {
    const uris = [`<${this.url(s)}>`, ...(mailto ? [`<mailto:${mailto}?subject=unsubscribe>`] : [])];
    return [
      { key: 'List-Unsubscribe', value: uris.join(', ') },
      { key: 'List-Unsubscribe-Post', value: 'List-Unsubscribe=One-Click' },
    ];
  }

  /** The keys a subject's links are checked under, the first also making them. */
  private keysFor(s: LinkSubject): Buffer[] {
    return s.linkKey ? [s.linkKey] : this.keys;
  }

  private url(s: LinkSubject): string {
    const base = this.settings.publicUrl;
    if (!base) throw new Error('one-click unsubscribe links cannot be made: PUBLIC_URL is not configured');
    const [key] = this.keysFor(s);
    if (!key) throw new Error(`one-click unsubscribe links cannot be made: ${this.unavailable()}`);
    return `${base.replace(/\/+$/, '')}/unsubscribe/${s.campaignId}.${s.recipientId}.${mac(key, s)}`;
  }
}

const TOKEN = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.([1-9][0-9]{0,9})\.([A-Za-z0-9_-]{43})$/;

/** The campaign and recipient a token names, before its MAC is checked. */
export function parseToken(token: string): { campaignId: string; recipientId: number; mac: string } | undefined {
  const m = TOKEN.exec(token);
  if (!m || Number(m[2]) >= 2 ** 31) return undefined;
  return { campaignId: m[1]!, recipientId: Number(m[2]), mac: m[3]! };
}

/** The links a process's configuration asks for. */
export function unsubscribeLinksFrom(config: { PUBLIC_URL?: string; UNSUBSCRIBE_KEY?: string; MASTER_KEY?: string; MASTER_KEY_PREVIOUS?: readonly string[] }): UnsubscribeLinks {
  return new UnsubscribeLinks({ publicUrl: config.PUBLIC_URL, key: config.UNSUBSCRIBE_KEY, masterKey: config.MASTER_KEY, previousMasterKeys: config.MASTER_KEY_PREVIOUS });
}
