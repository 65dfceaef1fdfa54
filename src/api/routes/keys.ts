import { randomUUID } from 'node:crypto';
import { Router } from 'express';
import { createKeySchema } from '../../contract/keys.js';
import { keyCreatedResponse, keyListResponse, keyResponse } from '../../contract/responses.js';
import { appendAudit } from '../../db/audit.js';
import * as keys from '../../db/keys.js';
import { newKey, principalOfKey } from '../auth.js';
import { ApiError, notFound } from '../errors.js';
import { keyParam } from '../params.js';
import { route } from '../route-spec.js';
import type { Scope } from '../scopes.js';
import type { ResolvedDeps } from '../deps.js';

const keyView = (k: keys.ApiKeyRow) => ({
  id: k.id,
  tenant: k.tenant,
  name: k.name,
  principal: principalOfKey(k.name),
  prefix: k.prefix,
  scopes: k.scopes,
  createdBy: k.createdBy,
  person: k.person,
  createdAt: k.createdAt,
  revokedAt: k.revokedAt ?? undefined,
});

/** /keys: create (the secret is in this answer only), list (never secrets), revoke. */
export function keyRouter({ sql }: Pick<ResolvedDeps, 'sql'>): Router {
  const router = Router();

  router.post('/keys', route({ scope: 'keys:admin', summary: 'Create an API key; the answer holds the key, shown only this once', body: createKeySchema, response: keyCreatedResponse, status: 201 }, async ({ caller, body: input }, _req, res) => {
    if (input.tenant && input.tenant !== caller.tenant && !caller.bootstrap) {
      throw new ApiError(403, 'only the configured API_KEY may create keys for another tenant');
    }
    // A key cannot hand out more than it holds.
    const beyond = input.scopes.filter((s) => !caller.scopes.has(s as Scope));
    if (beyond.length > 0) throw new ApiError(403, `this API key cannot grant scopes it does not hold: ${beyond.join(', ')}`);
    if (input.person && !caller.bootstrap) {
      throw new ApiError(403, "only the configured API_KEY may say whose a key is: a key made by a key acts for its maker's person");
    }
    const tenant = input.tenant ?? caller.tenant;
    // A key made by a key is its maker's person, so a second key never makes a second reviewer.
    const person = caller.bootstrap ? (input.person ?? principalOfKey(input.name)) : caller.person;
    const secret = newKey();
    const row = await sql.begin(async (tx) => {
      await keys.ensureTenant(tx, tenant);
      const inserted = await keys.insertKey(tx, {
        id: randomUUID(),
        tenant,
        name: input.name,
        keyHash: secret.hash,
        prefix: secret.prefix,
        scopes: [...new Set(input.scopes)],
        createdBy: caller.principal,
        person,
      });
      if (!inserted) return undefined;
      await appendAudit(tx, {
        tenant,
        principal: caller.principal,
        action: 'key.create',
        subject: inserted.id,
        details: { name: inserted.name, scopes: inserted.scopes, person: inserted.person, byTenant: caller.tenant },
      });
      return inserted;
    });
    if (!row) throw new ApiError(409, `tenant ${tenant} already has a key named ${input.name}`);
    res.status(201).json({ ...keyView(row), key: secret.key });
  }));

  router.get('/keys', route({ scope: 'keys:admin', summary: "List the tenant's API keys, without secrets", response: keyListResponse }, async ({ caller }, _req, res) => {
    res.json({ items: (await keys.listKeys(sql, caller.tenant)).map(keyView) });
  }));

  router.delete('/keys/:id', route({ scope: 'keys:admin', summary: 'Revoke an API key', params: { id: keyParam }, response: keyResponse }, async ({ caller, params: { id } }, _req, res) => {
    const row = await sql.begin(async (tx) => {
      const before = await keys.getKey(tx, caller.tenant, id);
      if (!before) return undefined;
      const after = await keys.revokeKey(tx, caller.tenant, id);
      if (!before.revokedAt) {
        await appendAudit(tx, { tenant: caller.tenant, principal: caller.principal, action: 'key.revoke', subject: id, details: { name: before.name } });
      }
      return after;
    });
    if (!row) throw notFound('key');
    res.json(keyView(row));
  }));

  return router;
}
