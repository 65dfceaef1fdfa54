import type { RequestHandler, Router } from 'express';
import { registeredRoutes } from './route-table.js';

/**
 * For a path that exists, a method it does not have answers 405 with `Allow` (RFC 9110), and
 * OPTIONS answers 204 with the same `Allow`, listing the methods of every router that serves the
 * path (Express's own OPTIONS answer would list only the first router's). Mounted ahead of the
 * routers, after authentication.
 */
export function methodGuard(router: Router): RequestHandler {
  let table: { pattern: RegExp; methods: Set<string> }[] | undefined;
  const build = () => {
    const byPath = new Map<string, Set<string>>();
    for (const r of registeredRoutes(router)) {
      const methods = byPath.get(r.path) ?? new Set<string>();
      methods.add(r.method);
      if (r.method === 'GET') methods.add('HEAD');
      byPath.set(r.path, methods);
    }
    return [...byPath].map(([path, methods]) => ({
      pattern: new RegExp(`^${path.split(/(:[A-Za-z0-9_]+)/).map((part) => (part.startsWith(':') ? '[^/]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))).join('')}/?$`, 'i'),
      methods,
    }));
  };
  return (req, res, next) => {
    table ??= build();
    const allowed = new Set<string>();
    for (const t of table) if (t.pattern.test(req.path)) for (const m of t.methods) allowed.add(m);
    if (allowed.size === 0 || allowed.has(req.method)) {
      next();
      return;
    }
    const allow = [...allowed, 'OPTIONS'].join(', ');
    if (req.method === 'OPTIONS') {
      res.status(204).set('Allow', allow).end();
      return;
    }
    res.status(405).set('Allow', allow).json({ error: `${req.method} is not allowed here; allowed: ${allow}` });
  };
}
