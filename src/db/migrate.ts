import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { resolveBinary } from 'dbmate';

const run = promisify(execFile);

export const MIGRATIONS_DIR = fileURLToPath(new URL('../../db/migrations', import.meta.url));

/** Brings the database at `databaseUrl` to the current schema with dbmate. */
export async function migrate(databaseUrl: string): Promise<void> {
  const { args, env } = dbmateInvocation(databaseUrl);
  try {
    await run(resolveBinary(), args, { env });
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr?.trim();
    // dbmate prints the URL only in its own errors; strip credentials before anything is shown.
    throw new Error(`database migration failed: ${redactUrl(stderr || (err as Error).message)}`);
  }
}

/**
 * dbmate's arguments and environment. The URL (and its password) goes in the environment, where
 * only the process's own user can read it, never on the command line that `ps` shows everyone.
 */
export function dbmateInvocation(databaseUrl: string): { args: string[]; env: NodeJS.ProcessEnv } {
  return {
    args: ['--env', 'DATABASE_URL', '--migrations-dir', MIGRATIONS_DIR, '--no-dump-schema', '--wait', 'up'],
    env: { ...process.env, DATABASE_URL: withSslDefault(databaseUrl) },
  };
}

// dbmate (lib/pq) asks for TLS unless told otherwise; a URL without sslmode means "use the default
// of the server", which for a local embedded server is no TLS.
function withSslDefault(url: string): string {
  if (/[?&]sslmode=/.test(url)) return url;
  const u = new URL(url);
  if (u.hostname === 'localhost' || u.hostname === '127.0.0.1' || u.hostname === '::1') {
    u.searchParams.set('sslmode', 'disable');
  }
  return u.toString();
}

export function redactUrl(text: string): string {
  return text.replace(/(\w+:\/\/[^:/\s@]+:)[^@\s]+@/g, '$1[redacted]@');
}
