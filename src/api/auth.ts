import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';

const digest = (s: string) => createHash('sha256').update(s).digest();

/** Requires `Authorization: Bearer <key>`; compares in constant time. */
export function requireApiKey(apiKey: string): RequestHandler {
  const expected = digest(apiKey);
  return (req, res, next) => {
    const header = req.get('authorization') ?? '';
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match?.[1]) {
      res.status(401).set('WWW-Authenticate', 'Bearer').json({ error: 'missing API key: send Authorization: Bearer <key>' });
      return;
    }
    if (!timingSafeEqual(digest(match[1]), expected)) {
      res.status(401).set('WWW-Authenticate', 'Bearer').json({ error: 'invalid API key' });
      return;
    }
    next();
  };
}
