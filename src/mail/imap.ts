import { ImapFlow } from 'imapflow';
import type { ServerEndpoint } from '../config.js';
import type { Logger } from '../logger.js';
import { assertLiteralAllowed, guardedLookup, type PrivateHostAllowance } from '../net/host-policy.js';
import type { TokenSource } from './oauth2.js';

/**
 * ImapFlow's options for an endpoint. `starttls` (requireTls) means TLS or no login; a tenant's
 * host (`hostPolicy`) is checked on every connection after DNS resolution.
 */
export function imapOptions(
  endpoint: ServerEndpoint,
  o: { tlsInsecure: boolean; hostPolicy?: PrivateHostAllowance; connectionTimeout?: number; accessToken?: string },
): ConstructorParameters<typeof ImapFlow>[0] {
  const guarded = o.hostPolicy && o.hostPolicy !== 'all' ? o.hostPolicy : undefined;
  // IP literals are dialled without a lookup, so they are checked here; names at connect time.
  if (guarded) assertLiteralAllowed(endpoint.host, guarded);
  return {
    host: endpoint.host,
    port: endpoint.port,
    secure: endpoint.secure,
    ...(endpoint.requireTls && !endpoint.secure ? { doSTARTTLS: true } : {}),
    // An access token signs in with SASL XOAUTH2 (or OAUTHBEARER where the server offers it).
    auth: o.accessToken ? { user: endpoint.user ?? '', accessToken: o.accessToken } : { user: endpoint.user ?? '', pass: endpoint.pass ?? '' },
    logger: false,
    // ImapFlow hands these to net/tls.connect, where `lookup` decides the address dialled.
    tls: { rejectUnauthorized: !o.tlsInsecure, ...(guarded ? { lookup: guardedLookup(guarded) } : {}) } as { rejectUnauthorized: boolean },
    connectionTimeout: o.connectionTimeout ?? 30_000,
    greetingTimeout: 30_000,
    socketTimeout: 120_000,
  };
}

export interface SentFolderClient {
  /** Appends `raw` to the Sent folder unless a message with this exact Message-ID is there. */
  appendOnce(raw: Buffer, messageId: string, date: Date): Promise<{ appended: boolean; folder: string }>;
  close(): Promise<void>;
}

const SENT_NAMES = ['Sent', 'Sent Items', 'Sent Messages', 'Sent Mail', 'Gesendet', 'Gesendete Elemente', 'Envoyés', 'Éléments envoyés', 'Enviados', 'Inviati', 'Verzonden'];

/**
 * The one rule for an account's Sent folder when none is configured: the mailbox flagged
 * `\\Sent` (RFC 6154), else one with a usual name (Sent Items, Gesendet, ...). Sending and
 * account verification both ask this.
 */
export function pickSentFolder(boxes: { path: string; name: string; specialUse?: string }[]): string | undefined {
  const bySpecialUse = boxes.find((b) => b.specialUse === '\\Sent');
  const byName = boxes.find((b) => SENT_NAMES.some((n) => n.toLowerCase() === b.name.toLowerCase()));
  return (bySpecialUse ?? byName)?.path;
}

/** The Sent folder of a signed-in session, by `pickSentFolder`. */
export async function findSentFolder(c: ImapFlow): Promise<string | undefined> {
  return pickSentFolder(await c.list());
}

/**
 * A lazily connected IMAP session, reconnected after the server drops it. Commands on one
 * mailbox are serialised by imapflow's mailbox lock.
 */
export function createSentFolderClient(
  endpoint: ServerEndpoint,
  options: { folder?: string; tlsInsecure: boolean; logger: Logger; hostPolicy?: PrivateHostAllowance; oauth2?: TokenSource },
): SentFolderClient {
  let client: ImapFlow | undefined;
  let connecting: Promise<ImapFlow> | undefined;
  let folder: string | undefined = options.folder;

  async function connect(): Promise<ImapFlow> {
    if (client?.usable) return client;
    const { oauth2 } = options;
    connecting ??= (async () => {
      if (!oauth2) return connectSignedIn(undefined);
      try {
        return await connectSignedIn(await oauth2.get());
      } catch (err) {
        // A token the server refuses may have been revoked before its expiry: one fresh try.
        if (!(err as { authenticationFailed?: boolean }).authenticationFailed) throw err;
        return connectSignedIn(await oauth2.get(true));
      }
    })().finally(() => {
      connecting = undefined;
    });
    return connecting;
  }

  async function connectSignedIn(token: { accessToken: string } | undefined): Promise<ImapFlow> {
    const c = new ImapFlow(imapOptions(endpoint, { ...options, accessToken: token?.accessToken }));
    c.on('error', (err: Error) => options.logger.warn({ err: err.message }, 'IMAP connection error'));
    c.on('close', () => {
      if (client === c) client = undefined;
    });
    await c.connect();
    client = c;
    return c;
  }

  async function sentFolder(c: ImapFlow): Promise<string> {
    folder ??= await findSentFolder(c);
    if (!folder) throw new Error('no Sent folder: none has the \\Sent flag or a usual name; set IMAP_SENT_FOLDER');
    return folder;
  }

  async function withSent<T>(fn: (c: ImapFlow, path: string) => Promise<T>): Promise<T> {
    const c = await connect();
    const path = await sentFolder(c);
    const lock = await c.getMailboxLock(path);
    try {
      return await fn(c, path);
    } finally {
      lock.release();
    }
  }

  return {
    async appendOnce(raw, messageId, date) {
      return withSent(async (c, path) => {
        // SEARCH HEADER matches substrings, so confirm the exact header before trusting a hit.
        const uids = (await c.search({ header: { 'message-id': messageId } }, { uid: true })) || [];
        if (uids.length > 0) {
          for await (const msg of c.fetch(uids, { headers: ['message-id'] }, { uid: true })) {
            if (headerValue(msg.headers, 'message-id') === messageId) return { appended: false, folder: path };
          }
        }
        await c.append(path, raw, ['\\Seen'], date);
        return { appended: true, folder: path };
      });
    },
    async close() {
      const c = client;
      client = undefined;
      await c?.logout().catch(() => c.close());
    },
  };
}

function headerValue(headers: Buffer | undefined, name: string): string | undefined {
  if (!headers) return undefined;
  const unfolded = headers.toString('utf8').replace(/\r?\n[ \t]+/g, ' ');
  const line = unfolded.split(/\r?\n/).find((l) => l.toLowerCase().startsWith(`${name}:`));
  return line?.slice(name.length + 1).trim();
}
