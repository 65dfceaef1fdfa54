import nodemailer from 'nodemailer';
import type { ServerEndpoint } from '../config.js';
import { connectGuarded, type PrivateHostAllowance } from '../net/host-policy.js';
import type { TokenSource } from './oauth2.js';
import { BASIC_AUTH_OFF, BASIC_AUTH_OFF_WORDS, TOKEN_REFUSED_BY_SERVER } from './oauth2-errors.js';

export interface SmtpSender {
  /**
   * Runs `fn` holding one of this worker's `maxConnections` sending slots: a check made inside
   * (is the campaign still sending?) is at most one message per connection old when SMTP starts.
   * An aborted `signal` takes a waiting caller out of the queue (it rejects with the reason).
   */
  withSlot<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T>;
  /** Callers waiting for a slot right now. */
  readonly waiting: number;
  send(envelope: { from: string; to: string[] }, raw: Buffer): Promise<{ response: string }>;
  verify(): Promise<void>;
  close(): void;
}

/**
 * One pooled SMTP transport per account and worker process: connections are reused across
 * messages, and the transport never requeues on its own, so the only retries are Temporal's.
 */
export function createSmtpSender(
  endpoint: ServerEndpoint,
  options: {
    maxConnections: number;
    tlsInsecure: boolean;
    /** A tenant's host: every connection is checked after DNS resolution (see src/net/host-policy.ts). */
    hostPolicy?: PrivateHostAllowance;
    /** SASL XOAUTH2 with tokens from this source instead of the password. */
    oauth2?: TokenSource;
    /** Messages one connection carries before the pool opens a new one (default 1000). */
    maxMessagesPerConnection?: number;
  },
): SmtpSender {
  const { hostPolicy, oauth2 } = options;
  const transport = nodemailer.createTransport({
    pool: true,
    host: endpoint.host,
    port: endpoint.port,
    secure: endpoint.secure,
    auth: smtpAuth(endpoint, oauth2),
    maxConnections: options.maxConnections,
    maxMessages: options.maxMessagesPerConnection ?? 1000,
    maxRequeues: 0,
    connectionTimeout: 30_000,
    greetingTimeout: 30_000,
    socketTimeout: 120_000,
    disableFileAccess: true,
    disableUrlAccess: true,
    tls: { rejectUnauthorized: !options.tlsInsecure },
    // `starttls` means TLS or no login: a server that hides STARTTLS never sees the password.
    requireTLS: endpoint.requireTls === true,
    ...(hostPolicy && hostPolicy !== 'all'
      ? {
          getSocket: (_o: unknown, callback: (err: Error | null, socket?: { connection: import('node:net').Socket }) => void) => {
            connectGuarded(endpoint.host, endpoint.port, hostPolicy, 30_000).then(
              (connection) => callback(null, { connection }),
              (err: Error) => callback(err),
            );
          },
        }
      : {}),
  });
  if (oauth2) {
    // nodemailer asks again when its copy is past `expires`, and with `renew` after a refusal.
    transport.set('oauth2_provision_cb', (_user: string, renew: boolean, callback: (err: Error | null, token?: string, expires?: number) => void) => {
      oauth2.get(renew).then(
        (t) => callback(null, t.accessToken, t.refreshAt),
        // The provider's refusal is the account's problem; an unreachable endpoint is only transient.
        (err: Error & { oauth2Refused?: boolean }) => callback(err.oauth2Refused ? err : Object.assign(err, { tokenEndpointUnreachable: true })),
      );
    });
  }
  let free = options.maxConnections;
  const waiting: (() => void)[] = [];
  return {
    get waiting() {
      return waiting.length;
    },
    async withSlot(fn, signal) {
      signal?.throwIfAborted();
      if (free > 0) free--;
      else {
        await new Promise<void>((resolve, reject) => {
          const granted = () => {
            signal?.removeEventListener('abort', aborted);
            resolve();
          };
          const aborted = () => {
            const i = waiting.indexOf(granted);
            if (i >= 0) waiting.splice(i, 1);
            reject(signal!.reason instanceof Error ? signal!.reason : new Error(String(signal!.reason)));
          };
          waiting.push(granted);
          signal?.addEventListener('abort', aborted, { once: true });
        });
      }
      try {
        return await fn();
      } finally {
        const next = waiting.shift();
        if (next) next();
        else free++;
      }
    },
    async send(envelope, raw) {
      try {
        const info = await transport.sendMail({ envelope, raw });
        return { response: String(info.response ?? '') };
      } catch (err) {
        throw markAuthMethod(err, oauth2);
      }
    },
    async verify() {
      await transport.verify().catch((err: unknown) => {
        throw markAuthMethod(err, oauth2);
      });
    },
    close() {
      transport.close();
    },
  };
}

function smtpAuth(endpoint: ServerEndpoint, oauth2: TokenSource | undefined) {
  if (!endpoint.user) return undefined;
  return oauth2 ? { type: 'OAuth2' as const, user: endpoint.user } : { user: endpoint.user, pass: endpoint.pass ?? '' };
}

/** Tags a failure with how the account signs in, so its meaning can be told (see classifySmtpError). */
function markAuthMethod(err: unknown, oauth2: TokenSource | undefined): unknown {
  if (err && typeof err === 'object') Object.assign(err, { authMethod: oauth2 ? 'oauth2' : 'password' });
  return err;
}

export type SmtpOutcome =
  /** Worth another try later; `slowDown` when the server asked us to send less. */
  | { kind: 'transient'; reason: string; slowDown: boolean }
  /** This recipient is refused for good. */
  | { kind: 'recipient'; reason: string }
  /** The account cannot send now (quota, authentication): stop the campaign, not the recipient. */
  | { kind: 'account'; reason: string };

const QUOTA = /quota|daily (sending )?limit|limit exceeded|too many (messages|recipients)|SubmissionQuotaExceeded|\b5\.4\.5\b|\b5\.2\.0\b|\b5\.7\.60\b/i;
const THROTTLING = /\b4\.7\.\d+\b|\b4\.2\.1\b|\b4\.3\.2\b|rate|too many|slow down|try again later/i;

/**
 * Sorts an SMTP failure by what it means (see DESIGN.md, delivery rules): connection trouble,
 * timeouts and 4xx are transient; a 421 or throttling 4.7.x also slows the account down; a 5xx
 * about the recipient is permanent for that recipient; a 5xx about the sender's quota and any
 * authentication failure stop the account instead of burning through every recipient.
 */
export function classifySmtpError(err: unknown): SmtpOutcome {
  const e = err as { responseCode?: number; response?: string; code?: string; message?: string };
  const reason = (e.response || e.message || String(err)).trim();
  const code = typeof e.responseCode === 'number' ? e.responseCode : undefined;
  if (e.code === 'EBLOCKEDADDRESS') return { kind: 'account', reason: `blocked address: ${reason}` };
  const auth = authenticationProblem(e, reason, code);
  if (auth) return { kind: 'account', reason: auth };
  if (code !== undefined && code >= 500) {
    return QUOTA.test(reason) ? { kind: 'account', reason: `sending limit of the account: ${reason}` } : { kind: 'recipient', reason };
  }
  const slowDown = code === 421 || (code !== undefined && code >= 400 && THROTTLING.test(reason));
  return { kind: 'transient', reason, slowDown };
}

/**
 * Why sign-in failed, or undefined when it did not: a provider that turned Basic authentication
 * off (Microsoft 365: 535 5.7.139, 550 5.7.30) is told apart from a wrong password, and an OAuth2
 * account's failures (a refused token request, a refused token) from both.
 */
function authenticationProblem(
  e: { code?: string; authMethod?: string; oauth2Refused?: boolean; tokenEndpointUnreachable?: boolean },
  reason: string,
  code: number | undefined,
): string | undefined {
  if (e.tokenEndpointUnreachable) return undefined;
  if (e.oauth2Refused) return `authentication failed: ${reason}`;
  if (BASIC_AUTH_OFF.test(reason)) return `authentication failed: ${BASIC_AUTH_OFF_WORDS}. Server reply: ${reason}`;
  const isAuth = e.code === 'EAUTH' || code === 530 || code === 534 || code === 535;
  if (!isAuth) return undefined;
  if (e.authMethod === 'oauth2') return `authentication failed: ${TOKEN_REFUSED_BY_SERVER}. Server reply: ${reason}`;
  if (code === 535 && e.authMethod === 'password') {
    return `authentication failed: ${reason} (if the provider turned Basic authentication off, as Microsoft 365 does, sign in with OAuth2)`;
  }
  return `authentication failed: ${reason}`;
}
