/** `alice@example.com` → `a***@example.com`: enough to recognise in the Temporal UI, not to harvest. */
export function maskAddress(email: string): string {
  const at = email.lastIndexOf('@');
  if (at <= 0) return '***';
  return `${email[0]}***${email.slice(at)}`;
}
