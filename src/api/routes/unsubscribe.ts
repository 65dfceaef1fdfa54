import express, { Router, type Request, type Response } from 'express';
import { maskAddress } from '../../contract/mask.js';
import { appendAudit } from '../../db/audit.js';
import type { Sql } from '../../db/sql.js';
import { addSuppressionOnce, linkRecipient } from '../../db/suppressions.js';
import type { Logger } from '../../logger.js';
import { badRequestPage, confirmPage, donePage, invalidPage } from '../../unsubscribe/page.js';
import { parseToken, type LinkSubject, type UnsubscribeLinks } from '../../unsubscribe/token.js';

// GET/POST /unsubscribe/:token, outside /api/v1 and without an API key: the recipient's own link.
// GET only shows a page with a button (link scanners follow GETs); POST with the RFC 8058 body
// `List-Unsubscribe=One-Click` (what mail providers send, and what the button sends) adds the
// address to the campaign tenant's suppression list, once, audited. A link that does not verify
// is a 404 and changes nothing.

const PATH = '/unsubscribe/:token';

async function verifiedLink(sql: Sql, links: UnsubscribeLinks, token: string): Promise<LinkSubject | undefined> {
  const parsed = parseToken(token);
  if (!parsed) return undefined;
  const r = await linkRecipient(sql, parsed.campaignId, parsed.recipientId);
  if (!r) return undefined;
  const subject = { ...r, campaignId: parsed.campaignId, recipientId: parsed.recipientId };
  return links.matches(parsed.mac, subject) ? subject : undefined;
}

function html(res: Response, status: number, body: string): void {
  res
    .status(status)
    .set({
      'Content-Type': 'text/html; charset=utf-8',
      'Cache-Control': 'no-store',
      'Referrer-Policy': 'no-referrer',
      'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
      'X-Robots-Tag': 'noindex',
    })
    .send(body);
}

/** The RFC 8058 body, as a form (urlencoded) or as multipart/form-data (read as text, at most 8 KB). */
function isOneClick(req: Request): boolean {
  if (typeof req.body === 'string') return /name="?List-Unsubscribe"?\r?\n(?:[^\r\n]+\r?\n)*\r?\nOne-Click\r?\n/i.test(req.body);
  return (req.body as Record<string, unknown> | undefined)?.['List-Unsubscribe'] === 'One-Click';
}

async function unsubscribe(sql: Sql, link: LinkSubject): Promise<boolean> {
  return sql.begin(async (tx) => {
    const added = await addSuppressionOnce(tx, link.tenant, link.email, `unsubscribed: one-click link of campaign ${link.campaignId}`);
    if (added) {
      await appendAudit(tx, {
        tenant: link.tenant,
        principal: 'list-unsubscribe',
        action: 'suppression.unsubscribe',
        campaignId: link.campaignId,
        subject: link.email.toLowerCase(),
        details: { recipientId: link.recipientId, via: 'one-click link' },
      });
    }
    return added;
  });
}

export function unsubscribeRouter({ sql, logger, unsubscribeLinks }: { sql: Sql; logger: Logger; unsubscribeLinks: UnsubscribeLinks }): Router {
  const router = Router();
  router.get(PATH, async (req, res) => {
    const link = await verifiedLink(sql, unsubscribeLinks, String(req.params.token));
    html(res, link ? 200 : 404, link ? confirmPage(maskAddress(link.email)) : invalidPage());
  });
  router.post(
    PATH,
    express.urlencoded({ extended: false, limit: '4kb' }),
    express.text({ type: 'multipart/form-data', limit: '8kb' }),
    async (req, res) => {
      const link = await verifiedLink(sql, unsubscribeLinks, String(req.params.token));
      if (!link) return html(res, 404, invalidPage());
      if (!isOneClick(req)) return html(res, 400, badRequestPage());
      const added = await unsubscribe(sql, link);
      logger.info({ campaignId: link.campaignId, recipientId: link.recipientId, added }, 'one-click unsubscribe');
      html(res, 200, donePage(maskAddress(link.email)));
    },
  );
  router.options(PATH, (_req, res) => {
    res.status(204).set('Allow', 'GET, POST').end();
  });
  router.all(PATH, (_req, res) => {
    res.status(405).set('Allow', 'GET, POST').json({ error: 'method not allowed: use GET or POST' });
  });
  return router;
}

const htmlAnswer = (description: string) => ({ description, content: { 'text/html': { schema: { type: 'string' } } } });
const tokenParam = { name: 'token', in: 'path', required: true, schema: { type: 'string', minLength: 1, pattern: '^[^\\u0000]*$' } };

/** The two public operations, for the OpenAPI document (they need no key). */
export function unsubscribePaths() {
  const common = {
    '404': htmlAnswer('The link is not valid (altered, forged, or its recipient is gone); nothing changed'),
    '503': { description: 'PostgreSQL is unreachable for now: retry after the time in Retry-After', content: { 'application/json': { schema: { type: 'object' } } } },
  };
  return {
    '/unsubscribe/{token}': {
      get: {
        summary: 'The page of a one-click unsubscribe link: a button that POSTs; changes nothing',
        operationId: 'getUnsubscribeToken',
        security: [],
        parameters: [tokenParam],
        responses: { '200': htmlAnswer('The confirmation page'), ...common },
      },
      post: {
        summary: 'RFC 8058 one-click unsubscribe: adds the address to the tenant\'s suppression list (idempotent, audited)',
        operationId: 'postUnsubscribeToken',
        security: [],
        parameters: [tokenParam],
        requestBody: {
          required: true,
          content: {
            'application/x-www-form-urlencoded': {
              schema: { type: 'object', properties: { 'List-Unsubscribe': { const: 'One-Click' } }, required: ['List-Unsubscribe'] },
            },
          },
        },
        responses: {
          '200': htmlAnswer('Unsubscribed (also when it already was)'),
          '400': htmlAnswer('The body is not List-Unsubscribe=One-Click'),
          '413': { description: 'The body is too large', content: { 'application/json': { schema: { type: 'object' } } } },
          ...common,
        },
      },
    },
  };
}
