import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';

/**
 * As root, embedded PostgreSQL runs as the `postgres` user, which must be able to reach its data
 * directory. When an ancestor of `dir` is closed to other users (a clone under /root, say), the
 * data goes to /var/lib/campaign-mailer instead, keyed by the original path.
 */
export function postgresDataDir(dir: string): string {
  return reachableDataDir(dir);
}

/**
 * `dir`, or when root and an ancestor of it is closed to other users, a folder under
 * /var/lib/campaign-mailer keyed by its path: for the servers that run as users of their own
 * (PostgreSQL as `postgres`, Dovecot's mail as `dovecot`).
 */
export function reachableDataDir(dir: string): string {
  const abs = resolve(dir);
  if (process.getuid?.() !== 0) return abs;
  for (let p = dirname(abs); ; p = dirname(p)) {
    try {
      if ((statSync(p).mode & 0o001) === 0) {
        const key = createHash('sha256').update(abs).digest('hex').slice(0, 12);
        return `/var/lib/campaign-mailer/${key}/${basename(abs)}`;
      }
    } catch {
      // not created yet: it will be created open enough
    }
    if (p === dirname(p)) return abs;
  }
}
