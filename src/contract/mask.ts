/** `alice@example.com` → `a***@example.com`: enough to recognise in the Temporal UI, not to harvest. */
export function maskAddress(email: string): string {
  const at = email.lastIndexOf('@');
  if (at <= 0) return '***';
  return `${email[0]}***${email.slice(at)}`;
}

/**
 * Text with every address in it masked (`550 5.1.1 <a***@example.com>: unknown user`): SMTP
 * replies often name the recipient, and what goes into workflow history holds ids and codes, not
 * personal data.
 */
export function maskAddressesIn(text: string): string {
  return text.replace(/[^\s<>()\[\]"',;:]+@[^\s<>()\[\]"',;:]+/g, (address) => maskAddress(address));
}
