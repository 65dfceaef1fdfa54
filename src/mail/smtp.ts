import nodemailer from 'nodemailer';
import type { ServerEndpoint } from '../config.js';

export interface SmtpSender {
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
  options: { maxConnections: number; tlsInsecure: boolean },
): SmtpSender {
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
  });
  return {
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
  | { kind: 'transient'; reason: string }
  | { kind: 'recipient'; reason: string };

/**
 * Sorts an SMTP failure by what it means for the message. Connection trouble, timeouts and 4xx
 * replies are worth another try later; a 5xx reply refuses this recipient for good.
 */
export function classifySmtpError(err: unknown): SmtpOutcome {
  const e = err as { responseCode?: number; response?: string; code?: string; message?: string };
  const reason = (e.response || e.message || String(err)).trim();
  if (typeof e.responseCode === 'number' && e.responseCode >= 500 && e.code !== 'EAUTH') {
    return { kind: 'recipient', reason };
  }
  return { kind: 'transient', reason };
}
