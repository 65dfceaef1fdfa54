import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import postgres from 'postgres';
import { MIGRATIONS_DIR, migrate } from '../../src/db/migrate.js';

// Every test file works on a database of its own at the current schema. Creating and migrating
// one took 0.3-0.5 s (up to 1.4 s beside other files); a copy of a migrated template (CREATE
// DATABASE … TEMPLATE, PostgreSQL's default WAL_LOG strategy) takes 50-70 ms on an idle server.
// FILE_COPY was measured at 1.6-2 s: it waits for a checkpoint. The template's name carries a hash
// of the migrations, so a changed or added migration makes a new template, and the first file of
// a run to need it builds it.
// The copy carries the template's grants to the application's role and its default privileges;
// the role and its logins are the server's, and CONNECT on the copy is PUBLIC's by default, as on
// a database just created (no migration grants or revokes it).

const TEMPLATE_PREFIX = 'cm_template_';
/** The advisory lock (server-wide) that test processes starting together build the template under. */
const TEMPLATE_LOCK = 716_320_548_101;

type Admin = postgres.Sql<{}>;

/**
 * Creates the database `name` on the server of `adminUrl` (a superuser's URL of its `postgres`
 * database) as a copy of the migrated template, and answers its URL. The copy has what migrating
 * it would have made: tables, grants to the application's role, default privileges and the rows
 * of schema_migrations.
 */
export async function createMigratedDatabase(adminUrl: string, name: string): Promise<string> {
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    const template = await ensureTemplate(admin, adminUrl);
    // Nobody may be connected to the template while it is copied: its builder's dbmate has exited,
    // and connections to it are refused (ALLOW_CONNECTIONS false).
    await admin.unsafe(`CREATE DATABASE ${quoteIdent(name)} TEMPLATE ${quoteIdent(template)}`);
  } finally {
    await admin.end();
  }
  return databaseUrl(adminUrl, name);
}

/** The template's name: the prefix and a hash of the migration files' names and contents. */
async function templateName(): Promise<string> {
  const hash = createHash('sha256');
  for (const file of (await readdir(MIGRATIONS_DIR)).sort()) {
    hash.update(file).update('\0').update(await readFile(join(MIGRATIONS_DIR, file))).update('\0');
  }
  return `${TEMPLATE_PREFIX}${hash.digest('hex').slice(0, 16)}`;
}

/**
 * The template of the current migrations, built if missing. Processes that start together take
 * turns under an advisory lock; the template is built under another name and renamed into place
 * only once migrated and closed to connections, so a half-migrated one is never copied.
 */
async function ensureTemplate(admin: Admin, adminUrl: string): Promise<string> {
  const name = await templateName();
  if (await isTemplate(admin, name)) return name;
  // A session-level lock: the same connection takes it and gives it back.
  const session = await admin.reserve();
  try {
    await session`SELECT pg_advisory_lock(${TEMPLATE_LOCK})`;
    try {
      if (await isTemplate(session, name)) return name;
      const building = `${name}_build`;
      // What a builder that died half-way left.
      await session.unsafe(`DROP DATABASE IF EXISTS ${quoteIdent(building)} WITH (FORCE)`);
      await session.unsafe(`CREATE DATABASE ${quoteIdent(building)}`);
      await migrate(databaseUrl(adminUrl, building)); // dbmate's process, and its connection, end here
      await session.unsafe(`ALTER DATABASE ${quoteIdent(building)} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false`);
      await session.unsafe(`ALTER DATABASE ${quoteIdent(building)} RENAME TO ${quoteIdent(name)}`);
      await dropOtherTemplates(session, name);
    } finally {
      await session`SELECT pg_advisory_unlock(${TEMPLATE_LOCK})`;
    }
  } finally {
    session.release();
  }
  return name;
}

async function isTemplate(sql: postgres.Sql<{}> | postgres.ReservedSql<{}>, name: string): Promise<boolean> {
  const [row] = await sql`SELECT 1 FROM pg_database WHERE datname = ${name} AND datistemplate`;
  return row !== undefined;
}

/** Templates of earlier migrations (a server kept from run to run): no longer of use. */
async function dropOtherTemplates(session: postgres.ReservedSql<{}>, keep: string): Promise<void> {
  const others = await session<{ datname: string }[]>`
    SELECT datname FROM pg_database WHERE starts_with(datname, ${TEMPLATE_PREFIX}) AND datname <> ${keep}`;
  for (const { datname } of others) {
    await session.unsafe(`ALTER DATABASE ${quoteIdent(datname)} WITH IS_TEMPLATE false`);
    await session.unsafe(`DROP DATABASE ${quoteIdent(datname)}`);
  }
}

function databaseUrl(adminUrl: string, name: string): string {
  return adminUrl.replace(/\/postgres$/, `/${name}`);
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
