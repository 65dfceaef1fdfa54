import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import * as keys from '../db/keys.js';
import type { Sql } from '../db/sql.js';
import { SCOPES, type Caller, type Scope } from './scopes.js';

const BOOTSTRAP_TENANT = 'default';
const BOOTSTRAP_PRINCIPAL = 'admin';

const digest = (s: string) => createHash('sha256').update(s).digest();
const hashKey = (key: string) => digest(key).toString('hex');

/** A new key: 32 random bytes, so a plain sha256 is enough to store it (no guessable input to stretch). */
export function newKey(): { key: string; prefix: string; hash: string } {
  const key = `cm_${randomBytes(32).toString('base64url')}`;
  return { key, prefix: key.slice(0, 10), hash: hashKey(key) };
}

export const principalOfKey = (name: string) => `key:${name}`;

/**
 * Requires `Authorization: Bearer <key>`: the configured API_KEY (all scopes, tenant `default`)
 * or a live stored key. Sets `res.locals.auth` (a Caller) and `res.locals.principal`.
 */
export function authenticate(o: { apiKey: string; sql: Sql }): RequestHandler {
  const bootstrap = digest(o.apiKey);
  return async (req, res, next) => {
    const header = req.get('authorization') ?? '';
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match?.[1]) {
      res.status(401).set('WWW-Authenticate', 'Bearer').json({ error: 'missing API key: send Authorization: Bearer <key>' });
      return;
    }
    const presented = digest(match[1]);
    let caller: Caller | undefined;
    if (timingSafeEqual(presented, bootstrap)) {
      caller = { tenant: BOOTSTRAP_TENANT, principal: BOOTSTRAP_PRINCIPAL, person: BOOTSTRAP_PRINCIPAL, scopes: new Set(SCOPES), bootstrap: true };
    } else {
      // Looked up by its hash: the lookup itself reveals nothing about other keys.
      const row = await keys.findActiveKey(o.sql, presented.toString('hex'));
      if (row) {
        caller = {
          tenant: row.tenant,
          principal: principalOfKey(row.name),
          person: row.person,
          scopes: new Set(row.scopes as Scope[]),
          keyId: row.id,
          bootstrap: false,
        };
      }
    }
    if (!caller) {
      res.status(401).set('WWW-Authenticate', 'Bearer').json({ error: 'invalid API key' });
      return;
    }
    res.locals.auth = caller;
    res.locals.principal = caller.principal;
    next();
  };
}
