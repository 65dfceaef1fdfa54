import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { resolveBinary } from 'dbmate';
import postgres from 'postgres';

const run = promisify(execFile);

/** The migrations dbmate applies, in the order of their names. */
export const MIGRATIONS_DIR = fileURLToPath(new URL('../../db/migrations', import.meta.url));

/**
 * Brings the database at `databaseUrl` to the current schema with dbmate, waiting up to
 * `waitSeconds` for PostgreSQL to accept connections (a server still starting beside it).
 */
export async function migrate(databaseUrl: string, waitSeconds = 60): Promise<void> {
  const { args, env } = dbmateInvocation(databaseUrl, waitSeconds);
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
export function dbmateInvocation(databaseUrl: string, waitSeconds = 60): { args: string[]; env: NodeJS.ProcessEnv } {
  return {
    args: ['--env', 'DATABASE_URL', '--migrations-dir', MIGRATIONS_DIR, '--no-dump-schema', '--wait', '--wait-timeout', `${Math.max(1, waitSeconds)}s`, 'up'],
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

function redactUrl(text: string): string {
  return text.replace(/(\w+:\/\/[^:/\s@]+:)[^@\s]+@/g, '$1[redacted]@');
}

/** The group role the migrations grant the application's privileges to (see db/migrations). */
const APP_ROLE = 'campaign_mailer_app';

/**
 * For an embedded server (dev, tests): a login in the application's role, made with the owner's
 * URL, and the URL to run the application with. In production an administrator makes it once
 * (README, Database roles).
 */
export async function ensureAppLogin(ownerUrl: string, login: { user: string; password: string }): Promise<string> {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(login.user)) throw new Error('the application login must be a plain lower-case name');
  const sql = postgres(ownerUrl, { max: 1, onnotice: () => {} });
  try {
    const password = login.password.replace(/'/g, "''");
    // CREATE ROLE takes no parameters; the name is checked above and the password quoted.
    await sql.unsafe(`
      DO $$
      BEGIN
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${login.user}') THEN
          BEGIN
            CREATE ROLE ${login.user} LOGIN PASSWORD '${password}' IN ROLE ${APP_ROLE};
          EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
          END;
        END IF;
      END
      $$`);
  } finally {
    await sql.end();
  }
  const url = new URL(ownerUrl);
  url.username = login.user;
  url.password = login.password;
  return url.toString();
}
