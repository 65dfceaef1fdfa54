import { createRemoteJWKSet, jwtVerify } from 'jose';
import type { TokenCheck } from './smtp-sink.js';

/**
 * An XOAUTH2 token check for the development SMTP sink: the token must be a JWT signed by the
 * authorisation server's keys (its JWKS), from `issuer`, unexpired, carry `scope` (in `scope`,
 * `scp` or `roles`), and, when it names a mailbox (`email`), name the user signing in.
 */
export function jwksTokenCheck(o: { jwksUrl: string; issuer: string; scope?: string }): TokenCheck {
  const keys = createRemoteJWKSet(new URL(o.jwksUrl));
  return async (user, accessToken) => {
    let claims: Record<string, unknown>;
    try {
      ({ payload: claims } = await jwtVerify(accessToken, keys, { issuer: o.issuer }));
    } catch (err) {
      return `invalid token: ${(err as Error).message}`;
    }
    const granted = [claims.scope, claims.scp, claims.roles].flatMap((v) => (Array.isArray(v) ? v : typeof v === 'string' ? v.split(' ') : []));
    if (o.scope && !granted.includes(o.scope)) return `insufficient scope: ${o.scope} is not granted`;
    if (typeof claims.email === 'string' && claims.email.toLowerCase() !== user.toLowerCase()) return `the token is for ${claims.email}, not ${user}`;
    return undefined;
  };
}
