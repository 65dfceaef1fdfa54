import { ImapFlow } from 'imapflow';
import type { PrivateHostAllowance } from '../net/host-policy.js';
import type { endpointsOf } from './account-pool.js';
import { findSentFolder, imapOptions } from './imap.js';
import { BASIC_AUTH_OFF, BASIC_AUTH_OFF_WORDS, TOKEN_REFUSED_BY_SERVER } from './oauth2-errors.js';
import type { TokenSource } from './oauth2.js';
import { createSmtpSender } from './smtp.js';

// Account verification: log in to an account's SMTP and IMAP servers as sending and filing do
// (the same connection options, the same Sent folder search) and say what happened in words that
// carry none of the remote's own bytes.

type Endpoints = ReturnType<typeof endpointsOf>;
type Outcome = { ok: boolean; error?: string };

export interface VerifyResult {
  smtp: Outcome;
  imap?: Outcome & { sentFolder?: string };
}

/**
 * What verify answers about a failed connection: one fixed text per kind of failure. The remote's
 * own bytes (a banner, a reply) never reach the caller, or verify would read any internal service
 * it can reach to whoever asks.
 */
function verifyFailure(err: unknown, protocol: 'SMTP' | 'IMAP', oauth2 = false): string {
  const e = err as { code?: string; message?: string; authenticationFailed?: boolean; tlsFailed?: boolean; responseCode?: number; response?: string };
  const code = String(e.code ?? '');
  const message = String(e.message ?? '');
  if (code === 'EBLOCKEDADDRESS') return 'blocked address: the host is, or resolves to, an address this installation does not connect to';
  if (BASIC_AUTH_OFF.test(String(e.response ?? message))) return `authentication failed: ${BASIC_AUTH_OFF_WORDS}`;
  if (code === 'EAUTH' || e.authenticationFailed || e.responseCode === 535) {
    return oauth2 ? TOKEN_REFUSED_BY_SERVER : 'authentication failed: the server refused the user name or password';
  }
  if (code === 'ETLS' || e.tlsFailed || /^ERR_SSL|^ERR_TLS|CERT|SELF_SIGNED/.test(code) || /STARTTLS|TLS|certificate/i.test(message)) {
    return 'TLS failed: the server offers no TLS, or its certificate is not valid for this host';
  }
  if (/^(ECONNREFUSED|ECONNRESET|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|EDNS|ETIMEDOUT|ECONNECTION|CONNECT_TIMEOUT)$/.test(code)) {
    return 'connection failed: the server could not be reached (refused, unknown host or timed out)';
  }
  return `not an ${protocol} server: the server did not answer as ${protocol} does`;
}

async function verifySmtp(endpoints: Endpoints, hostPolicy: PrivateHostAllowance, tokens: TokenSource | undefined): Promise<Outcome> {
  const smtp = createSmtpSender(endpoints.smtp, { maxConnections: 1, tlsInsecure: false, hostPolicy, oauth2: tokens });
  try {
    await smtp.verify();
    return { ok: true };
  } catch (err) {
    return { ok: false, error: verifyFailure(err, 'SMTP', tokens !== undefined) };
  } finally {
    smtp.close();
  }
}

/** Signs in to IMAP and finds the Sent folder as filing a Sent copy does (findSentFolder). */
async function verifyImap(imapEndpoint: NonNullable<Endpoints['imap']>, hostPolicy: PrivateHostAllowance, tokens: TokenSource | undefined): Promise<VerifyResult['imap']> {
  let imap: ImapFlow | undefined;
  try {
    const accessToken = tokens ? (await tokens.get()).accessToken : undefined;
    imap = new ImapFlow(imapOptions(imapEndpoint, { tlsInsecure: false, hostPolicy, connectionTimeout: 15_000, accessToken }));
    imap.on('error', () => {});
    await imap.connect();
    const sent = imapEndpoint.sentFolder ?? (await findSentFolder(imap));
    await imap.logout();
    return sent ? { ok: true, sentFolder: sent } : { ok: false, error: 'logged in, but found no Sent folder: set imap.sentFolder' };
  } catch (err) {
    imap?.close();
    return { ok: false, error: verifyFailure(err, 'IMAP', tokens !== undefined) };
  }
}

/** Logs in to the account's SMTP server and, when it has one, its IMAP server. */
export async function verifyEndpoints(endpoints: Endpoints, hostPolicy: PrivateHostAllowance, tokens: TokenSource | undefined): Promise<VerifyResult> {
  const smtp = await verifySmtp(endpoints, hostPolicy, tokens);
  const imap = endpoints.imap ? await verifyImap(endpoints.imap, hostPolicy, tokens) : undefined;
  return { smtp, imap };
}
