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

let settings: UnsubscribeSettings = {};

/** Set once at start by the worker and the API from their configuration. */
export function configureUnsubscribe(s: UnsubscribeSettings): void {
  settings = { ...settings, ...Object.fromEntries(Object.entries(s).filter(([, v]) => v !== undefined)) };
}

/** Why links cannot be made here, if they cannot. */
export function unsubscribeUnavailable(): string | undefined {
  if (!settings.publicUrl) return 'PUBLIC_URL is not configured';
  if (keysOf(settings).length === 0) return 'neither UNSUBSCRIBE_KEY nor MASTER_KEY is configured';
  return undefined;
}

function mac(key: Buffer, s: LinkSubject): string {
  return createHmac('sha256', key)
    .update([INFO, s.tenant, s.campaignId, String(s.recipientId), s.email.toLowerCase()].join('\0'))
    .digest('base64url');
}

/** The keys a subject's links are checked under, the first also making them. */
const keysFor = (s: LinkSubject, o: UnsubscribeSettings): Buffer[] => (s.linkKey ? [s.linkKey] : keysOf(o));

function unsubscribeToken(s: LinkSubject): string {
  const [key] = keysFor(s, settings);
  if (!key) throw new Error(`one-click unsubscribe links cannot be made: ${unsubscribeUnavailable()}`);
  return `${s.campaignId}.${s.recipientId}.${mac(key, s)}`;
}

function unsubscribeUrl(s: LinkSubject): string {
  const base = settings.publicUrl;
  if (!base) throw new Error('one-click unsubscribe links cannot be made: PUBLIC_URL is not configured');
  return `${base.replace(/\/+$/, '')}/unsubscribe/${unsubscribeToken(s)}`;
}

const TOKEN = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.([1-9][0-9]{0,9})\.([A-Za-z0-9_-]{43})$/;

/** The campaign and recipient a token names, before its MAC is checked. */
export function parseToken(token: string): { campaignId: string; recipientId: number; mac: string } | undefined {
  const m = TOKEN.exec(token);
  if (!m || Number(m[2]) >= 2 ** 31) return undefined;
  return { campaignId: m[1]!, recipientId: Number(m[2]), mac: m[3]! };
}

/** Whether `given` is the MAC of `s` under a key of this installation (in constant time). */
export function tokenMatches(given: string, s: LinkSubject, o: UnsubscribeSettings = settings): boolean {
  const a = Buffer.from(given);
  return keysFor(s, o).some((key) => {
    const b = Buffer.from(mac(key, s));
    return a.length === b.length && timingSafeEqual(a, b);
  });
}

/**
 * The RFC 2369 / RFC 8058 headers of one recipient's message: an HTTPS URI (and a mailto, if the
 * campaign gives one) in List-Unsubscribe, and List-Unsubscribe-Post for the one-click POST.
 */
export function listUnsubscribeHeaders(s: LinkSubject, mailto?: string): { key: string; value: string }[] {
  const uris = [`<${unsubscribeUrl(s)}>`, ...(mailto ? [`<mailto:${mailto}?subject=unsubscribe>`] : [])];
  return [
    { key: 'List-Unsubscribe', value: uris.join(', ') },
    { key: 'List-Unsubscribe-Post', value: 'List-Unsubscribe=One-Click' },
  ];
}
