import { secretFieldOf, type OAuth2SettingsInput } from '../contract/oauth2.js';
import type { SecretBox } from '../crypto/secrets.js';
import type { AccountRow, AccountWrite } from '../db/accounts.js';
import { sealContext, tokenSourceOf, type AccountStore, type endpointsOf } from '../mail/account-pool.js';
import { OAuth2TokenError, type OAuth2Secrets, type OAuth2Settings, type TokenSource } from '../mail/oauth2.js';
import { aadstsCode } from '../mail/oauth2-errors.js';
import type { PrivateHostAllowance } from '../net/host-policy.js';
import { ApiError } from './errors.js';

// The OAuth2 part of /accounts: its secrets sealed like passwords (write-only), and what verify
// says about getting a token.

/**
 * The stored columns for an account's OAuth2 input. A secret left out keeps the stored one; an
 * update that leaves out the flow's secret while none is stored is a conflict with what is stored.
 */
export function oauth2Columns(
  box: SecretBox | undefined,
  at: { tenant: string; name: string },
  input: OAuth2SettingsInput | undefined,
  before?: AccountRow,
): Pick<AccountWrite, 'oauth2' | 'oauth2Secrets'> {
  if (!input) return { oauth2: null, oauth2Secrets: null };
  if (!box) throw new ApiError(503, 'MASTER_KEY is not configured: OAuth2 secrets cannot be stored');
  const context = sealContext(at.tenant, at.name, 'oauth2');
  const { clientSecret, refreshToken, privateKey, ...settings } = input as OAuth2Settings & OAuth2Secrets;
  const stored: OAuth2Secrets = before?.oauth2Secrets ? (JSON.parse(box.open(before.oauth2Secrets, context)) as OAuth2Secrets) : {};
  const given = Object.fromEntries(Object.entries({ clientSecret, refreshToken, privateKey }).filter(([, v]) => v !== undefined));
  const secrets: OAuth2Secrets = { ...stored, ...given };
  const needed = secretFieldOf(input.flow);
  if (!secrets[needed]) {
    throw new ApiError(409, `no oauth2.${needed} is stored for this account: send one for the ${input.flow} flow`, { status: 'no_stored_secret' });
  }
  return { oauth2: settings, oauth2Secrets: box.seal(JSON.stringify(secrets), context) };
}

/** The stored OAuth2 secrets an update keeps because it left them out (their field names). */
export function keptOAuth2Secrets(box: SecretBox | undefined, at: { tenant: string; name: string }, input: OAuth2SettingsInput | undefined, before: AccountRow): string[] {
  if (!input || !box || !before.oauth2Secrets) return [];
  const stored = JSON.parse(box.open(before.oauth2Secrets, sealContext(at.tenant, at.name, 'oauth2'))) as OAuth2Secrets;
  const given = input as OAuth2Secrets;
  return (['clientSecret', 'refreshToken', 'privateKey'] as const).filter((k) => stored[k] && given[k] === undefined);
}

/** What the API shows of the OAuth2 settings: never a secret, only whether the flow's one is set. */
export function oauth2View(a: AccountRow) {
  if (!a.oauth2) return undefined;
  const { provider, flow, clientId, user, tenant, scope, tokenUrl } = a.oauth2;
  return { provider, flow, clientId, user, tenant, scope, tokenUrl, secretSet: a.oauth2Secrets !== null };
}

/**
 * Gets a token as the worker would. A refusal is told in words with the provider's codes (an
 * RFC 6749 error and an AADSTS number), never the provider's free text.
 */
export async function verifyToken(
  e: ReturnType<typeof endpointsOf>,
  hostPolicy: PrivateHostAllowance,
  keep: { store: AccountStore; box?: SecretBox; row: AccountRow },
): Promise<{ result?: { ok: boolean; error?: string }; tokens?: TokenSource }> {
  if (!e.oauth2) return {};
  let tokens: TokenSource | undefined;
  try {
    tokens = tokenSourceOf(e, hostPolicy, keep);
    if (!tokens) return {};
    await tokens.get();
    return { result: { ok: true }, tokens };
  } catch (err) {
    if (err instanceof OAuth2TokenError) {
      const codes = [err.error.replace(/[^\w.-]/g, '').slice(0, 60), aadstsCode(err.providerAnswer)].filter(Boolean).join(', ');
      return { result: { ok: false, error: `${err.words} (${codes})` } };
    }
    return { result: { ok: false, error: 'token endpoint unreachable: the provider could not be reached (refused, unknown host, blocked address or timed out)' } };
  }
}
