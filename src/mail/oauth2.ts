import { importPKCS8, SignJWT } from 'jose';
import * as oauth from 'oauth4webapi';
import { assertLiteralAllowed, guardedLookup, type PrivateHostAllowance } from '../net/host-policy.js';
import { describeTokenError } from './oauth2-errors.js';

// Access tokens for SASL XOAUTH2: one source per account and worker, shared by its SMTP pool and
// its IMAP session. A token is reused until shortly before it expires, then fetched again from
// the provider's token endpoint with the account's grant.

type OAuth2Provider = 'microsoft' | 'google' | 'other';
type OAuth2Flow = 'client_credentials' | 'refresh_token' | 'service_account';

/** The stored, public part of an account's OAuth2 settings. */
export interface OAuth2Settings {
  provider: OAuth2Provider;
  flow: OAuth2Flow;
  /** The app's client id; for a Google service account its client email (the JWT's issuer). */
  clientId: string;
  /** The mailbox signed in as; a Google service account acts for it (the JWT's subject). */
  user: string;
  /** Microsoft Entra tenant (id or domain). */
  tenant?: string;
  scope?: string;
  tokenUrl?: string;
}

/** The sealed part: whichever the flow needs. */
export interface OAuth2Secrets {
  clientSecret?: string;
  refreshToken?: string;
  privateKey?: string;
}

const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

/** The token endpoint of an account: its own `tokenUrl`, else the provider's. */
function tokenEndpointOf(s: OAuth2Settings): string {
  if (s.tokenUrl) return s.tokenUrl;
  if (s.provider === 'microsoft') return `https://login.microsoftonline.com/${encodeURIComponent(s.tenant ?? 'organizations')}/oauth2/v2.0/token`;
  if (s.provider === 'google') return 'https://oauth2.googleapis.com/token';
  throw new Error('an OAuth2 account of provider "other" needs a tokenUrl');
}

/** The scope asked for unless the account names its own: one token serves SMTP and IMAP. */
function scopeOf(s: OAuth2Settings): string {
  if (s.scope) return s.scope;
  if (s.provider === 'google') return 'https://mail.google.com/';
  if (s.provider === 'microsoft') {
    return s.flow === 'client_credentials'
      ? 'https://outlook.office365.com/.default'
      : 'https://outlook.office.com/SMTP.Send https://outlook.office.com/IMAP.AccessAsUser.All offline_access';
  }
  return '';
}

/**
 * The provider answered the token request with an error: an account problem (the account is
 * held, like a refused password). `words` says what to do; `providerAnswer` is the provider's own.
 */
export class OAuth2TokenError extends Error {
  override name = 'OAuth2TokenError';
  readonly oauth2Refused = true;
  constructor(
    readonly error: string,
    readonly providerAnswer: string,
    readonly words: string,
  ) {
    super(`OAuth2 token refused by the provider: ${words} (provider's answer: ${providerAnswer})`);
  }
}

interface AccessToken {
  accessToken: string;
  /** When the token is due for a refresh: shortly before the provider's expiry. */
  refreshAt: number;
}

export interface TokenSource {
  /** A valid access token; `renew` when the server refused the cached one. */
  get(renew?: boolean): Promise<AccessToken>;
  /** Token requests made so far (for metrics and tests). */
  readonly requests: number;
}

/** Refresh a minute before expiry, or after four fifths of a short lifetime. */
export const refreshMargin = (lifetimeMs: number) => Math.min(60_000, lifetimeMs / 5);

/** Whether a token URL may be plain http: only a token server on this machine (a test server). */
const isLoopbackHttp = (url: URL) => url.protocol === 'http:' && /^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/.test(url.hostname);

export function createTokenSource(
  settings: OAuth2Settings,
  secrets: OAuth2Secrets,
  o: {
    hostPolicy?: PrivateHostAllowance;
    timeoutMs?: number;
    now?: () => number;
    /** A provider that rotates refresh tokens sent a new one: store it (best effort), it is used from now on. */
    onRefreshToken?: (refreshToken: string) => Promise<void>;
    /** The stored refresh token now: another worker (or verify) may have stored a newer one. */
    storedRefreshToken?: () => Promise<string | undefined>;
  },
): TokenSource {
  const now = o.now ?? Date.now;
  const endpoint = new URL(tokenEndpointOf(settings));
  const current: OAuth2Secrets = { ...secrets };
  const request = tokenRequester(settings, current, endpoint, o);
  let cached: AccessToken | undefined;
  let inFlight: Promise<AccessToken> | undefined;
  let requests = 0;
  const fetchToken = async (): Promise<AccessToken> => {
    requests++;
    const startedAt = now();
    if (settings.flow === 'refresh_token') current.refreshToken = (await o.storedRefreshToken?.().catch(() => undefined)) ?? current.refreshToken;
    const t = await request();
    if (settings.flow === 'refresh_token' && t.refresh_token && t.refresh_token !== current.refreshToken) {
      current.refreshToken = t.refresh_token;
      await o.onRefreshToken?.(t.refresh_token).catch(() => undefined);
    }
    const lifetime = (t.expires_in ?? 3600) * 1000;
    cached = { accessToken: t.access_token, refreshAt: startedAt + lifetime - refreshMargin(lifetime) };
    return cached;
  };
  return {
    get requests() {
      return requests;
    },
    async get(renew = false) {
      if (!renew && cached && now() < cached.refreshAt) return cached;
      if (renew) cached = undefined;
      inFlight ??= fetchToken().finally(() => (inFlight = undefined));
      return inFlight;
    },
  };
}

/** One token request for the account's grant, through the installation's host checks. */
function tokenRequester(
  s: OAuth2Settings,
  secrets: OAuth2Secrets,
  endpoint: URL,
  o: { hostPolicy?: PrivateHostAllowance; timeoutMs?: number },
): () => Promise<oauth.TokenEndpointResponse> {
  const as: oauth.AuthorizationServer = { issuer: endpoint.origin, token_endpoint: endpoint.href };
  const client: oauth.Client = { client_id: s.clientId };
  const options = requestOptions(endpoint, o.hostPolicy ?? 'none', o.timeoutMs ?? 15_000);
  const scope = scopeOf(s);
  const withScope = (p: Record<string, string>) => (scope ? { ...p, scope } : p);
  const secretAuth = () => (secrets.clientSecret ? oauth.ClientSecretPost(secrets.clientSecret) : oauth.None());
  return async () => {
    try {
      let response: Response;
      if (s.flow === 'client_credentials') {
        response = await oauth.clientCredentialsGrantRequest(as, client, secretAuth(), withScope({}), options);
      } else if (s.flow === 'refresh_token') {
        response = await oauth.genericTokenEndpointRequest(as, client, secretAuth(), 'refresh_token', withScope({ refresh_token: secrets.refreshToken ?? '' }), options);
      } else {
        const assertion = await serviceAccountAssertion(s, secrets, endpoint, scope);
        response = await oauth.genericTokenEndpointRequest(as, client, oauth.None(), JWT_BEARER, { assertion }, options);
      }
      return await oauth.processGenericTokenEndpointResponse(as, client, response);
    } catch (err) {
      throw asTokenError(err);
    }
  };
}

/** Google's JWT-bearer grant: the service account signs a claim naming the mailbox it acts for. */
async function serviceAccountAssertion(s: OAuth2Settings, secrets: OAuth2Secrets, endpoint: URL, scope: string): Promise<string> {
  const key = await importPKCS8(secrets.privateKey ?? '', 'RS256').catch(() => {
    throw new OAuth2TokenError('invalid_private_key', 'the stored private key is not a PKCS#8 PEM RSA key', describeTokenError('invalid_private_key'));
  });
  return new SignJWT({ scope })
    .setProtectedHeader({ alg: 'RS256', typ: 'JWT' })
    .setIssuer(s.clientId)
    .setSubject(s.user)
    .setAudience(endpoint.href)
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(key);
}

/** Every request goes to an address the installation allows, and gives up after `timeoutMs`. */
function requestOptions(endpoint: URL, policy: PrivateHostAllowance, timeoutMs: number) {
  const guarded = policy !== 'all';
  // undici is loaded at the first token request: a worker whose accounts use passwords never loads it.
  let dispatcher: import('undici').Agent | undefined;
  return {
    [oauth.allowInsecureRequests]: isLoopbackHttp(endpoint),
    signal: () => AbortSignal.timeout(timeoutMs),
    [oauth.customFetch]: (async (url: string, init: RequestInit) => {
      if (guarded) assertLiteralAllowed(new URL(url).hostname.replace(/^\[|\]$/g, ''), policy);
      const { Agent, fetch: undiciFetch } = await import('undici');
      if (guarded) dispatcher ??= new Agent({ connect: { lookup: guardedLookup(policy) } });
      return undiciFetch(url, { ...(init as object), dispatcher } as Parameters<typeof undiciFetch>[1]);
    }) as unknown as typeof fetch,
  };
}

/** The provider's error answer becomes an OAuth2TokenError; anything else (network) stays as it was. */
function asTokenError(err: unknown): unknown {
  if (err instanceof OAuth2TokenError) return err;
  if (err instanceof oauth.ResponseBodyError) {
    const answer = [err.error, err.error_description].filter(Boolean).join(': ').slice(0, 500);
    return new OAuth2TokenError(err.error, answer, describeTokenError(err.error, err.error_description));
  }
  return err;
}
