import { z } from 'zod';

// OAuth2 (SASL XOAUTH2) sign-in of an account, part of the public contract of /api/v1/accounts.
// One shape per provider and flow, so the OpenAPI document says exactly which fields each needs.
// The client secret, refresh token and private key go in, never out.

/** https, or plain http to this machine only (a local token server); every match is a URL that parses. */
const OCTET = '(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])';
const PORT = '(:([1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?';
const HOST = '([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\\.)*[A-Za-z]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
const LOOPBACK = `(127\\.${OCTET}\\.${OCTET}\\.${OCTET}|localhost|\\[::1\\])`;
const TOKEN_URL_PATTERN = `^(https://${HOST}|http://${LOOPBACK})${PORT}(/[A-Za-z0-9._~%!$&'()*+,;=:@/-]*)?$`;

const tokenUrl = z
  .string()
  .max(2000)
  .regex(new RegExp(TOKEN_URL_PATTERN), 'must be an https URL (plain http only to this machine)')
  .describe("The token endpoint, when not the provider's own");

const secret = (max: number, what: string) => z.string().min(1, 'must not be empty').max(max).meta({ writeOnly: true }).describe(what);
const clientSecret = secret(4000, 'The app registration’s client secret (its value, not its id)');
const refreshToken = secret(8000, 'A refresh token from a person’s consent (offline access)');
const privateKey = secret(10_000, 'The service account’s private_key (PKCS#8 PEM)');

const common = {
  /** The app's client id; for a Google service account its client_email. */
  clientId: z.string().trim().min(1, 'is required').max(500),
  /** The mailbox to sign in as (SMTP and IMAP, unless their own user is set); a service account acts for it. */
  user: z.string().trim().min(1, 'is required').max(320),
  /** By default one scope that covers SMTP and IMAP (see the README). */
  scope: z.string().trim().min(1, 'must not be empty').max(1000).optional(),
};
const tenant = z.string().trim().regex(/^[A-Za-z0-9.-]{1,200}$/, 'is not a tenant id or domain').describe('Microsoft Entra tenant id or domain');

/** `required`: the flow's secret must come with it (a create); otherwise a secret left out keeps the stored one. */
function flows(required: boolean, extra: z.ZodRawShape) {
  const need = <T extends z.ZodType>(s: T) => (required ? s : s.optional());
  const flow = <F extends string>(name: F, shape: z.ZodRawShape) => z.object({ flow: z.literal(name), ...common, ...extra, ...shape }).strict();
  return {
    clientCredentials: flow('client_credentials', { clientSecret: need(clientSecret) }),
    refreshToken: flow('refresh_token', { refreshToken: need(refreshToken), clientSecret: clientSecret.optional() }),
    serviceAccount: flow('service_account', { privateKey: need(privateKey) }),
  };
}

function oauth2Schema(required: boolean) {
  const flowError = (provider: string, allowed: string) => ({ error: `must be ${allowed} for ${provider}` });
  const microsoft = flows(required, { provider: z.literal('microsoft'), tenant, tokenUrl: tokenUrl.optional() });
  const google = flows(required, { provider: z.literal('google'), tokenUrl: tokenUrl.optional() });
  const other = flows(required, { provider: z.literal('other'), tokenUrl });
  return z.discriminatedUnion(
    'provider',
    [
      z.discriminatedUnion('flow', [microsoft.clientCredentials, microsoft.refreshToken], flowError('microsoft', 'client_credentials or refresh_token')),
      z.discriminatedUnion('flow', [google.refreshToken, google.serviceAccount], flowError('google', 'refresh_token or service_account')),
      z.discriminatedUnion('flow', [other.clientCredentials, other.refreshToken, other.serviceAccount], flowError('other', 'client_credentials, refresh_token or service_account')),
    ],
    { error: 'must be microsoft, google or other' },
  );
}

export const createOAuth2Schema = oauth2Schema(true);
export const updateOAuth2Schema = oauth2Schema(false);
export type OAuth2SettingsInput = z.infer<typeof updateOAuth2Schema>;

/** The secret field each flow needs. */
export const secretFieldOf = (flow: OAuth2SettingsInput['flow']) =>
  flow === 'client_credentials' ? 'clientSecret' : flow === 'refresh_token' ? 'refreshToken' : 'privateKey';

/** What the API shows: never a secret, only whether the flow's one is stored. */
export const oauth2Response = z.object({
  provider: z.string(),
  flow: z.string(),
  clientId: z.string(),
  user: z.string(),
  tenant: z.string().optional(),
  scope: z.string().optional(),
  tokenUrl: z.string().optional(),
  secretSet: z.boolean(),
});
