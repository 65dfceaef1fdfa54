import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import express, { Router } from 'express';

/** Where `npm run build:console` (Vite) writes the console; git-ignored, built on install. */
export const CONSOLE_DIR = fileURLToPath(new URL('../../../console/dist', import.meta.url));

/**
 * Everything the console loads comes from this origin: its own script and styles, nothing remote.
 * The one exception is images: a message preview is a sandboxed srcdoc frame, which inherits this
 * policy, and a reviewer may ask to see a message's remote images there. The frame's own policy
 * blocks them until the reviewer asks; the console itself never renders a remote URL (recipient
 * data is always text). Scripts, fonts, styles and connections stay local everywhere.
 */
const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob: https: http:",
  "font-src 'self'",
  "connect-src 'self'",
  "frame-src 'self' blob:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "object-src 'none'",
].join('; ');

/** Serves the reviewer and operator console at `/` (a single page; routes live in the URL's hash). */
export function consoleRouter(dir = CONSOLE_DIR): Router {
  const router = Router();
  router.use((_req, res, next) => {
    res.set({
      'Content-Security-Policy': CONSOLE_CSP,
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
      'X-Frame-Options': 'DENY',
    });
    next();
  });
  if (!existsSync(`${dir}/index.html`)) {
    router.get('/', (_req, res) => {
      res.status(503).type('text/plain').send('The console is not built: run `npm run build:console` (npm install does it).\n');
    });
    return router;
  }
  router.use(express.static(dir, { index: 'index.html', maxAge: 0, fallthrough: true }));
  return router;
}
