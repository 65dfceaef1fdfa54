// What an OAuth2 token error means, in words a person can act on. Providers answer with an RFC 6749
// error code and, Microsoft Entra, an AADSTS number in the description: the number is the precise
// one, so it is looked up first.

const AADSTS: [RegExp, string][] = [
  [/AADSTS7000222\b/, 'expired secret: the client secret has expired; create a new one in the app registration and store it'],
  [/AADSTS7000215\b/, 'wrong secret: the client secret is not valid for this app; copy the secret value (not its id)'],
  [/AADSTS(65001|65004|650051|650052|90094|90095)\b/, 'consent missing: an administrator has not granted this app the permission; grant admin consent in the app registration'],
  [/AADSTS(70011|70000\b|650053|500011)/, 'wrong scope: the scope asked for is not valid for this app or resource (client credentials use https://outlook.office365.com/.default)'],
  [/AADSTS700016\b/, 'unknown app: the client id is not an application in this tenant'],
  [/AADSTS(90002|900023|90072)\b/, 'unknown tenant: the tenant id or domain is wrong'],
  [/AADSTS(70008|700082|50173|700084|50076|50079)\b/, 'refresh token expired or revoked: sign in again to get a new refresh token'],
  [/AADSTS(7000112|50057)\b/, 'app or user disabled: the app registration or the mailbox user is disabled'],
];

const CODES: Record<string, string> = {
  invalid_client: 'wrong or expired secret: the provider does not accept the client id and secret (an expired client secret answers so too)',
  invalid_grant: 'refresh token or grant refused: the refresh token has expired or was revoked, or the service account is not allowed to act for this mailbox; sign in again',
  unauthorized_client:
    'not authorised for this grant: the app may not use this flow; for a Google service account, domain-wide delegation for this client id and scope is missing in the Admin console',
  invalid_scope: 'wrong scope: the scope asked for is not known or not granted to this app',
  consent_required: 'consent missing: the user or an administrator has not consented to this app',
  interaction_required: 'consent missing: the provider wants a person to sign in again (consent or multi-factor)',
  access_denied: 'consent missing: access was denied to this app',
  invalid_request: 'the token request was refused as malformed: check the tenant, client id and flow',
  unsupported_grant_type: 'the provider does not support this flow for this app',
  invalid_private_key: 'the stored private key is not a PKCS#8 PEM RSA key (the private_key of the service account JSON file)',
  temporarily_unavailable: 'the provider is temporarily unavailable',
  server_error: 'the provider had an internal error',
};

/** Words for an OAuth2 token error; the codes only, never the provider's free text. */
export function describeTokenError(error: string, description = ''): string {
  for (const [pattern, words] of AADSTS) if (pattern.test(description)) return words;
  return CODES[error] ?? `the provider refused the token request (${error.replace(/[^\w.-]/g, '').slice(0, 60) || 'no error code'})`;
}

/** The AADSTS number of a description, if any: a code, safe to show to whoever asked. */
export const aadstsCode = (description = ''): string | undefined => /AADSTS\d{5,7}/.exec(description)?.[0];

/** What it means when the mail server refuses an access token the provider did issue. */
export const TOKEN_REFUSED_BY_SERVER =
  'access token refused by the mail server: the token was issued but does not allow this mailbox; check the scope (Microsoft: SMTP.SendAsApp / IMAP.AccessAsApp and the mailbox permission of the app; Google: https://mail.google.com/) and the user name';

/** Microsoft 365's and others' answer when password sign-in is off for SMTP or IMAP. */
export const BASIC_AUTH_OFF = /\b5\.7\.139\b|\b5\.7\.30\b|basic auth(entication)? is (not supported|disabled)/i;

export const BASIC_AUTH_OFF_WORDS =
  'Basic authentication (user name and password) is off for this account at the provider; sign in with OAuth2 instead (account setting oauth2, see the README section on OAuth2)';
