import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ImapFlow } from 'imapflow';
import express, { type Request, type Response } from 'express';
import { decodeJwt, importSPKI, jwtVerify, createLocalJWKSet } from 'jose';
import { OAuth2Issuer, OAuth2Service } from 'oauth2-mock-server';
import { findDovecot, startDovecot, type DovecotServer } from '../../src/dev/dovecot.js';
import { jwksTokenCheck } from '../../src/dev/oauth2-token-check.js';
import { freePort } from '../../src/dev/ports.js';
import { SmtpSink } from '../../src/dev/smtp-sink.js';

// A local OAuth2 authorisation server for the tests: oauth2-mock-server signs the tokens and
// serves the JWKS and discovery; this helper adds what a real provider checks at its token
// endpoint (registered clients and secrets, refresh tokens, the JWT-bearer grant of a Google
// service account) and answers RFC 7662 introspection for Dovecot.

export interface RegisteredClient {
  /** The mailbox the client's tokens are for (the `email` claim Dovecot and the sink compare). */
  mailbox: string;
  secret?: string;
  refreshToken?: string;
  /** A service account's public key (SPKI PEM): the JWT-bearer assertion must verify with it. */
  publicKey?: string;
  /** Scopes granted; a request for another is `invalid_scope`. */
  scopes: string[];
}

export interface TokenIssue {
  clientId: string;
  grant: string;
  at: number;
}

type OAuthError = { status: number; error: string; error_description?: string };

export class LocalAuthServer {
  readonly issuer = new OAuth2Issuer();
  readonly service = new OAuth2Service(this.issuer, { token: '/mock-token', introspect: '/mock-introspect' });
  readonly clients = new Map<string, RegisteredClient>();
  readonly issued: TokenIssue[] = [];
  introspections = 0;
  /** The mailbox (`email`) of each token introspection answered active, in order. */
  readonly introspected: string[] = [];
  /** Lifetime of the access tokens issued from now on. */
  ttlSeconds = 3600;
  /** Each refresh-token grant answers a new refresh token, and the old one stops working. */
  rotateRefreshTokens = false;
  /** While set, every token request is answered with this error (a revoked app, an expired secret). */
  refuse?: OAuthError;
  private server?: Server;

  get url(): string {
    return this.issuer.url!.replace(/\/$/, '');
  }
  get tokenUrl(): string {
    return `${this.url}/token`;
  }
  get jwksUrl(): string {
    return `${this.url}/jwks`;
  }
  get introspectionUrl(): string {
    return `${this.url}/introspect`;
  }

  async start(): Promise<void> {
    await this.issuer.keys.generate('RS256');
    const app = express();
    const form = express.urlencoded({ extended: false });
    app.post('/token', form, (req, res) => void this.token(req, res).catch((err: Error) => res.status(500).json({ error: 'server_error', error_description: err.message })));
    app.post('/introspect', form, (req, res) => void this.introspect(req, res));
    app.use(this.service.requestHandler);
    this.server = createServer(app);
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.issuer.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private async token(req: Request, res: Response): Promise<void> {
    const body = req.body as Record<string, string>;
    const grant = body.grant_type ?? '';
    const outcome = this.refuse ? { error: this.refuse } : await this.authorise(grant, body);
    if ('error' in outcome) {
      const { status, ...answer } = outcome.error;
      res.status(status).set('Cache-Control', 'no-store').json(answer);
      return;
    }
    const { clientId, client, scope } = outcome;
    const accessToken = await this.issuer.buildToken({
      expiresIn: this.ttlSeconds,
      scopesOrTransform: (_h, payload) => Object.assign(payload, { scope, email: client.mailbox, azp: clientId, jti: crypto.randomUUID() }),
    });
    this.issued.push({ clientId, grant, at: Date.now() });
    const rotated = grant === 'refresh_token' && this.rotateRefreshTokens ? { refresh_token: (client.refreshToken = `rt-${crypto.randomUUID()}`) } : {};
    res.set('Cache-Control', 'no-store').json({ access_token: accessToken, token_type: 'Bearer', expires_in: this.ttlSeconds, scope, ...rotated });
  }

  /** What a provider checks before it issues a token; an error answer as RFC 6749 puts it. */
  private async authorise(grant: string, body: Record<string, string>): Promise<{ error: OAuthError } | { clientId: string; client: RegisteredClient; scope: string }> {
    let clientId = body.client_id ?? '';
    if (grant === 'urn:ietf:params:oauth:grant-type:jwt-bearer') {
      clientId = String(claimsOf(body.assertion).iss ?? '');
    }
    const client = this.clients.get(clientId);
    if (!client) return { error: { status: 400, error: 'unauthorized_client', error_description: `AADSTS700016: Application with identifier '${clientId}' was not found` } };
    if (grant === 'client_credentials' || (grant === 'refresh_token' && client.secret)) {
      if (body.client_secret !== client.secret) return { error: { status: 401, error: 'invalid_client', error_description: 'AADSTS7000215: Invalid client secret provided.' } };
    }
    if (grant === 'refresh_token' && body.refresh_token !== client.refreshToken) {
      return { error: { status: 400, error: 'invalid_grant', error_description: 'Token has been expired or revoked.' } };
    }
    if (grant === 'urn:ietf:params:oauth:grant-type:jwt-bearer') {
      const refused = await this.checkAssertion(body.assertion ?? '', clientId, client);
      if (refused) return { error: refused };
    } else if (grant !== 'client_credentials' && grant !== 'refresh_token') {
      return { error: { status: 400, error: 'unsupported_grant_type' } };
    }
    // Google takes a service account's scope from its signed assertion only, never from the form.
    const scope = grant === 'urn:ietf:params:oauth:grant-type:jwt-bearer' ? String(claimsOf(body.assertion).scope ?? '') : (body.scope ?? '');
    const unknown = scope.split(' ').filter((s) => s && s !== 'offline_access' && !client.scopes.includes(s));
    if (unknown.length > 0) return { error: { status: 400, error: 'invalid_scope', error_description: `AADSTS70011: The provided value for the input parameter 'scope' is not valid: ${unknown.join(' ')}` } };
    return { clientId, client, scope };
  }

  /**
   * A service account's assertion as Google checks it: RS256, signed by the key registered for its
   * issuer (the client email), for this token endpoint, acting for the delegated mailbox, asking
   * for a scope, issued now and valid for at most an hour.
   */
  private async checkAssertion(assertion: string, clientId: string, client: RegisteredClient): Promise<OAuthError | undefined> {
    let payload: Record<string, unknown>;
    try {
      const key = await importSPKI(client.publicKey ?? '', 'RS256');
      ({ payload } = await jwtVerify(assertion, key, { algorithms: ['RS256'], issuer: clientId, audience: this.tokenUrl, requiredClaims: ['iss', 'sub', 'aud', 'iat', 'exp'] }));
    } catch (err) {
      return { status: 400, error: 'invalid_grant', error_description: `Invalid JWT Signature. (${(err as Error).message})` };
    }
    const { iat, exp, scope } = payload as { iat: number; exp: number; scope?: unknown };
    if (exp - iat > 3600 || Math.abs(iat - Date.now() / 1000) > 300) return { status: 400, error: 'invalid_grant', error_description: 'Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe.' };
    if (typeof scope !== 'string' || scope.trim() === '') return { status: 400, error: 'invalid_scope', error_description: 'Empty or missing scope not allowed.' };
    if (payload.sub !== client.mailbox) return { status: 401, error: 'unauthorized_client', error_description: 'Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested.' };
    return undefined;
  }

  /** RFC 7662: active, with the mailbox as `email`, only for a valid unexpired token of this server. */
  private async introspect(req: Request, res: Response): Promise<void> {
    this.introspections++;
    const token = String((req.body as Record<string, string>).token ?? '');
    try {
      const keys = createLocalJWKSet({ keys: this.issuer.keys.toJSON(false) as never });
      const { payload } = await jwtVerify(token, keys, { issuer: this.url });
      this.introspected.push(String(payload.email));
      res.json({ active: true, email: payload.email, scope: payload.scope, exp: payload.exp });
    } catch {
      res.json({ active: false });
    }
  }
}

/** The unverified claims of an assertion (to find its client); none when it is not a JWT. */
function claimsOf(assertion: string | undefined): Record<string, unknown> {
  try {
    return decodeJwt(assertion ?? '');
  } catch {
    return {};
  }
}

/** The OAuth2 mail stack of a test: the authorisation server, an SMTP sink and a Dovecot that accept only its tokens. */
export interface OAuthMailServers {
  auth: LocalAuthServer;
  sink: SmtpSink;
  dovecot: DovecotServer;
  /** Message-IDs in `user`'s Sent folder, read with Dovecot's static password. */
  sentIds(user: string): Promise<string[]>;
  stop(): Promise<void>;
}

export async function startOAuthMailServers(o: { sinkScope?: string } = {}): Promise<OAuthMailServers> {
  const auth = new LocalAuthServer();
  await auth.start();
  const sink = new SmtpSink({ checkToken: jwksTokenCheck({ jwksUrl: auth.jwksUrl, issuer: auth.url, scope: o.sinkScope }) });
  await sink.start(0);
  const binary = findDovecot();
  if (!binary) throw new Error('the OAuth2 tests need Dovecot (apt-get install dovecot-imapd)');
  const dir = await mkdtemp(join(tmpdir(), 'cm-dovecot-oauth2-'));
  await chmod(dir, 0o755); // Dovecot's mail processes run as its own user
  const dovecot = await startDovecot({ binary, dir, port: await freePort(), password: 'static-test-password', oauth2IntrospectionUrl: auth.introspectionUrl });
  return {
    auth,
    sink,
    dovecot,
    async sentIds(user) {
      const c = new ImapFlow({ host: '127.0.0.1', port: dovecot.port, secure: false, auth: { user, pass: dovecot.password }, logger: false });
      await c.connect();
      try {
        const box = await c.mailboxOpen('Sent');
        const ids: string[] = [];
        if (box.exists === 0) return ids;
        for await (const m of c.fetch('1:*', { envelope: true })) if (m.envelope?.messageId) ids.push(m.envelope.messageId);
        return ids;
      } finally {
        await c.logout();
      }
    },
    async stop() {
      await sink.stop();
      await dovecot.stop();
      await auth.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
