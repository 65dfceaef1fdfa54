import nodemailer from 'nodemailer';
import type { ServerEndpoint } from '../config.js';
import { connectGuarded, type PrivateHostAllowance } from '../net/host-policy.js';

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
  },
): SmtpSender {
  const { hostPolicy } = options;
  const transport = nodemailer.createTransport({
    pool: true,
    host: endpoint.host,
    port: endpoint.port,
    secure: endpoint.secure,
    auth: endpoint.user ? { user: endpoint.user, pass: endpoint.pass ?? '' } : undefined,
    maxConnections: options.maxConnections,
    maxMessages: 1000,
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
      const info = await transport.sendMail({ envelope, raw });
      return { response: String(info.response ?? '') };
    },
    async verify() {
      await transport.verify();
    },
    close() {
      transport.close();
    },
  };
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
  if (e.code === 'EAUTH' || code === 530 || code === 534 || code === 535) {
    return { kind: 'account', reason: `authentication failed: ${reason}` };
  }
  if (code !== undefined && code >= 500) {
    return QUOTA.test(reason) ? { kind: 'account', reason: `sending limit of the account: ${reason}` } : { kind: 'recipient', reason };
  }
  const slowDown = code === 421 || (code !== undefined && code >= 400 && THROTTLING.test(reason));
  return { kind: 'transient', reason, slowDown };
}
