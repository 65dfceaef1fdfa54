// The address rule the API applies to every recipient, Cc, Bcc, From and Reply-To address.
// Plain values only: the console bundles this file, so its live preview flags an address the
// build would block by this very rule (src/contract/campaign.ts builds its zod schema from it).

// One pattern that both zod and the OpenAPI document use (a JSON Schema `format: email` would let
// generators send addresses this refuses): zod's own syntax, with DNS labels of at most 63
// characters that neither start nor end with "-", as SMTP servers demand. Written without
// lookaheads, which some generators lack.
export const EMAIL_PATTERN =
  "^(?:[A-Za-z0-9_'+-]+\\.)*[A-Za-z0-9_'+-]*[A-Za-z0-9_+-]@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\\.)+[A-Za-z]{2,63}$";
export const EMAIL = new RegExp(EMAIL_PATTERN);
/** RFC 5321's path limit (256 octets with `<` and `>`), less what a server needs around it. */
export const EMAIL_MAX = 254;

/** What the API says of an address it refuses. */
export const ADDRESS_PROBLEMS = {
  tooLong: `is longer than ${EMAIL_MAX} characters`,
  invalid: 'is not a valid email address',
} as const;

/** What is wrong with an address by the API's rule (trimmed first, as the API does), or undefined when nothing is. */
export function addressProblem(value: string): string | undefined {
  const address = value.trim();
  if (address.length > EMAIL_MAX) return ADDRESS_PROBLEMS.tooLong;
  if (!EMAIL.test(address)) return ADDRESS_PROBLEMS.invalid;
  return undefined;
}
