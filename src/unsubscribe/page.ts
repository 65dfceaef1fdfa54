// The small HTML pages of the unsubscribe link. Nothing in them comes from the request but the
// masked address, which is escaped.

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>${escape(title)}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#222}button{font:inherit;padding:.5rem 1.25rem;cursor:pointer}</style>
</head><body><h1>${escape(title)}</h1>${body}</body></html>`;
}

/** GET: asks before it changes anything (link scanners follow GETs; only the button's POST unsubscribes). */
export const confirmPage = (masked: string) =>
  page(
    'Unsubscribe',
    `<p>Stop sending these messages to <strong>${escape(masked)}</strong>?</p>
<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click"><button type="submit">Unsubscribe</button></form>`,
  );

export const donePage = (masked: string) =>
  page('You are unsubscribed', `<p><strong>${escape(masked)}</strong> will get no more of these messages.</p>`);

export const invalidPage = () => page('This link is not valid', '<p>This unsubscribe link is not valid. Use the link in the message exactly as it came.</p>');

export const badRequestPage = () => page('Nothing was changed', '<p>An unsubscribe request sends <code>List-Unsubscribe=One-Click</code>. Use the button on the link\'s page.</p>');
