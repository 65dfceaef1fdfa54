import { Router } from 'express';
import { z } from 'zod';
import {
  accountListResponse,
  accountResponse,
  accountVerifyResponse,
  createAccountSchema,
  defaultPort,
  updateAccountSchema,
  type UpdateAccountInput,
} from '../../contract/accounts.js';
import { SecretBox } from '../../crypto/secrets.js';
import * as accounts from '../../db/accounts.js';
import { appendAudit } from '../../db/audit.js';
import { syncBounceSchedule } from '../../bounces/check-schedules.js';
import { endpointsOf, sealContext } from '../../mail/account-pool.js';
import { verifyEndpoints } from '../../mail/verify.js';
import { keptOAuth2Secrets, oauth2Columns, oauth2View, verifyToken } from '../account-oauth2.js';
import { accountChanges, assertKeptSecretsStay } from '../account-changes.js';
import { ApiError, notFound } from '../errors.js';
import { accountParam } from '../params.js';
import { route } from '../route-spec.js';
import type { Caller } from '../scopes.js';
import type { ResolvedDeps } from '../deps.js';

const view = (a: accounts.AccountRow) => ({
  name: a.name,
  smtp: { host: a.smtp.host, port: a.smtp.port, security: a.smtp.security, user: a.smtp.user, passwordSet: a.smtpPassword !== null },
  imap: a.imap
    ? {
        host: a.imap.host,
        port: a.imap.port,
        security: a.imap.security,
        user: a.imap.user,
        passwordSet: a.imapPassword !== null,
        sentFolder: a.imap.sentFolder,
        append: a.imap.append,
      }
    : undefined,
  limits: a.limits,
  oauth2: oauth2View(a),
  createdAt: a.createdAt,
  updatedAt: a.updatedAt,
});

/** /accounts: the tenant's SMTP accounts. Passwords are sealed at rest and never answered. */
export function accountRouter({
  sql,
  masterKey,
  previousMasterKeys,
  allowPrivateHosts,
  limits,
  ...schedules
}: Pick<ResolvedDeps, 'sql' | 'masterKey' | 'previousMasterKeys' | 'allowPrivateHosts' | 'limits' | 'client' | 'taskQueue' | 'logger' | 'bounceChecks'>): Router {
  const maxAccounts = limits.accountsPerTenant; // MAX_ACCOUNTS_PER_TENANT
  const router = Router();
  // Each account with IMAP has a bounce check Schedule (src/bounces/check-schedules.ts).
  const bounceSchedule = (tenant: string, name: string, hasImap: boolean) => syncBounceSchedule(schedules, tenant, name, hasImap);
  const box = masterKey ? new SecretBox(masterKey, previousMasterKeys) : undefined;

  /** The stored form of the input; a password left out of an update keeps the stored one. */
  function toRow(tenant: string, name: string, input: UpdateAccountInput, before?: accounts.AccountRow): accounts.AccountWrite {
    const seal = (password: string | undefined, field: string, kept: string | null | undefined) => {
      if (password === undefined) return kept ?? null;
      if (!box) throw new ApiError(503, 'MASTER_KEY is not configured: account passwords cannot be stored');
      return box.seal(password, sealContext(tenant, name, field));
    };
    const { password: smtpPassword, ...smtp } = input.smtp;
    const imapIn = input.imap;
    return {
      tenant,
      name,
      smtp: { ...smtp, port: smtp.port ?? defaultPort('smtp', smtp.security) },
      smtpPassword: seal(smtpPassword, 'smtp', before?.smtpPassword),
      imap: imapIn
        ? {
            host: imapIn.host,
            port: imapIn.port ?? defaultPort('imap', imapIn.security),
            security: imapIn.security,
            user: imapIn.user,
            sentFolder: imapIn.sentFolder,
            append: imapIn.append,
          }
        : null,
      imapPassword: imapIn ? seal(imapIn.password, 'imap', before?.imapPassword) : null,
      limits: input.limits,
      ...oauth2Columns(box, { tenant, name }, input.oauth2, before),
    };
  }

  async function load(tenant: string, name: string) {
    const row = await accounts.getAccount(sql, tenant, name);
    if (!row) throw notFound('account');
    return row;
  }
  const params = { name: accountParam };
  const loadAccount = ({ caller, params }: { caller: Caller; params: { name: string } }) => load(caller.tenant, params.name);

  router.get('/accounts', route({ scope: 'accounts:admin', summary: "List the tenant's SMTP accounts (never their passwords)", response: accountListResponse }, async ({ caller }, _req, res) => {
    res.json({ items: (await accounts.listAccounts(sql, caller.tenant)).map(view) });
  }));

  router.get('/accounts/:name', route({ scope: 'accounts:admin', summary: 'Show an account (never its passwords)', params, load: loadAccount, response: accountResponse }, async ({ loaded }, _req, res) => {
    res.json(view(loaded));
  }));

  router.post('/accounts', route({ scope: 'accounts:admin', summary: 'Add an SMTP account, with IMAP for Sent copies and its limits', body: createAccountSchema, response: accountResponse, status: 201 }, async ({ caller, body: input }, _req, res) => {
    const row = await sql.begin(async (tx) => {
      // Counted under the tenant's lock: two requests at once cannot both take the last place.
      const held = await accounts.lockAccountCount(tx, caller.tenant);
      if (held >= maxAccounts) throw new ApiError(409, `the tenant has ${held} accounts, the most it may have (MAX_ACCOUNTS_PER_TENANT is ${maxAccounts}); delete one first`);
      const inserted = await accounts.insertAccount(tx, toRow(caller.tenant, input.name, input));
      if (inserted) await appendAudit(tx, { tenant: caller.tenant, principal: caller.principal, action: 'account.create', subject: input.name, details: { smtpHost: input.smtp.host } });
      return inserted;
    });
    if (!row) throw new ApiError(409, `an account named ${input.name} already exists`);
    await bounceSchedule(caller.tenant, row.name, !!row.imap);
    res.status(201).json(view(row));
  }));

  router.put('/accounts/:name', route({ scope: 'accounts:admin', summary: 'Replace an account; a password left out keeps the stored one unless where it goes changes (409)', params, load: loadAccount, body: updateAccountSchema, response: accountResponse }, async ({ caller, loaded: before, body: input }, _req, res) => {
    const next = toRow(caller.tenant, before.name, input, before);
    const changes = accountChanges(before, next);
    assertKeptSecretsStay(changes, {
      smtp: input.smtp.password === undefined && before.smtpPassword !== null,
      imap: !!input.imap && input.imap.password === undefined && before.imapPassword !== null,
      oauth2: keptOAuth2Secrets(box, { tenant: caller.tenant, name: before.name }, input.oauth2, before),
    });
    const given = input.oauth2 as Record<string, unknown> | undefined;
    const secretsSent = [
      ...(input.smtp.password ? ['smtp.password'] : []),
      ...(input.imap?.password ? ['imap.password'] : []),
      ...['clientSecret', 'refreshToken', 'privateKey'].filter((k) => given?.[k] !== undefined).map((k) => `oauth2.${k}`),
    ];
    const row = await sql.begin(async (tx) => {
      const updated = await accounts.updateAccount(tx, next);
      await appendAudit(tx, { tenant: caller.tenant, principal: caller.principal, action: 'account.update', subject: before.name, details: { smtpHost: input.smtp.host, changes, secretsSent } });
      return updated;
    });
    if (!row) throw notFound('account');
    await bounceSchedule(caller.tenant, row.name, !!row.imap);
    res.json(view(row));
  }));

  router.delete('/accounts/:name', route({ scope: 'accounts:admin', summary: 'Delete an account no unfinished campaign uses', params, load: loadAccount, response: z.object({ deleted: z.string() }) }, async ({ caller, loaded: before }, _req, res) => {
    const active = await accounts.activeCampaignsOf(sql, caller.tenant, before.name);
    if (active > 0) throw new ApiError(409, `${active} unfinished campaign(s) use this account`, { status: 'in_use' });
    await sql.begin(async (tx) => {
      await accounts.deleteAccount(tx, caller.tenant, before.name);
      await appendAudit(tx, { tenant: caller.tenant, principal: caller.principal, action: 'account.delete', subject: before.name, details: {} });
    });
    await bounceSchedule(caller.tenant, before.name, false);
    res.json({ deleted: before.name });
  }));

  router.post('/accounts/:name/verify', route({ scope: 'accounts:admin', summary: 'Log in to the SMTP and IMAP servers and report each result', params, load: loadAccount, response: accountVerifyResponse }, async ({ loaded: row }, _req, res) => {
    let endpoints: ReturnType<typeof endpointsOf>;
    try {
      endpoints = endpointsOf(row, box);
    } catch (err) {
      throw new ApiError(503, (err as Error).message);
    }
    const { result: oauth2, tokens } = await verifyToken(endpoints, allowPrivateHosts, { store: accounts.accountStore(sql), box, row });
    if (oauth2 && !oauth2.ok) {
      const skipped = { ok: false, error: 'not tried: no access token (see oauth2)' };
      res.json({ oauth2, smtp: skipped, imap: endpoints.imap ? skipped : undefined });
      return;
    }
    res.json({ oauth2, ...(await verifyEndpoints(endpoints, allowPrivateHosts, tokens)) });
  }));

  return router;
}
