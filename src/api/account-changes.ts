import type { AccountRow, AccountWrite } from '../db/accounts.js';
import { ApiError } from './errors.js';

// What an account update changes, and the rule that a stored secret never follows an account to
// a new destination: a password or OAuth2 secret kept because the update left it out may only be
// used where it was used before, by whom it was used before.

type Change = { from: unknown; to: unknown };

/** Every non-secret field an update changes, as `smtp.host: {from, to}`: what the audit row records. */
export function accountChanges(before: AccountRow, after: AccountWrite): Record<string, Change> {
  const changes: Record<string, Change> = {};
  const compare = (prefix: string, a: Record<string, unknown> | null | undefined, b: Record<string, unknown> | null | undefined) => {
    if (!a || !b) {
      if (a !== b && (a || b)) changes[prefix] = { from: a ?? null, to: b ?? null };
      return;
    }
    for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
      if (JSON.stringify(a[key]) !== JSON.stringify(b[key])) changes[`${prefix}.${key}`] = { from: a[key] ?? null, to: b[key] ?? null };
    }
  };
  compare('smtp', before.smtp, after.smtp);
  compare('imap', before.imap, after.imap);
  compare('limits', before.limits, after.limits);
  compare('oauth2', before.oauth2 as Record<string, unknown> | null, after.oauth2 as Record<string, unknown> | null);
  return changes;
}

/** Where a secret goes and as whom: changing one of these needs the secret sent again. */
const SERVER_FIELDS = ['host', 'port', 'security', 'user'];
const OAUTH2_FIELDS = ['provider', 'flow', 'clientId', 'user', 'tenant', 'scope', 'tokenUrl'];

/**
 * Refuses an update that keeps a stored secret (left out of the input) while changing where it
 * is sent or whose it is: the host, port, security or user of its server, or for OAuth2 secrets
 * the provider, flow, client, user, tenant, scope or token URL, and the servers its tokens go to.
 */
export function assertKeptSecretsStay(changes: Record<string, Change>, kept: { smtp: boolean; imap: boolean; oauth2: string[] }): void {
  // A server added where there was none is a new destination too; one removed is not.
  const added = (prefix: string) => prefix in changes && changes[prefix]!.to !== null;
  const changed = (prefix: string, fields: string[]) => (added(prefix) ? [prefix] : fields.map((f) => `${prefix}.${f}`).filter((f) => f in changes));
  const refuse = (fields: string[], secret: string) => {
    if (fields.length === 0) return;
    throw new ApiError(409, `${fields.join(', ')} changed, so the stored ${secret} is not sent there: send ${secret} again with the change`, {
      status: 'secret_required',
      fields,
      secret,
    });
  };
  if (kept.smtp) refuse(changed('smtp', SERVER_FIELDS), 'smtp.password');
  if (kept.imap) refuse(changed('imap', SERVER_FIELDS), 'imap.password');
  if (kept.oauth2.length > 0) {
    const fields = [...changed('oauth2', OAUTH2_FIELDS), ...changed('smtp', SERVER_FIELDS), ...changed('imap', SERVER_FIELDS)];
    refuse([...new Set(fields)], kept.oauth2.map((s) => `oauth2.${s}`).join(' and '));
  }
}
