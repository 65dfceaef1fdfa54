import { loadConfigOrExit, migrateEnvSchema } from '../config.js';
import { migrate } from './migrate.js';

const { DATABASE_URL, STARTUP_WAIT_SECONDS } = loadConfigOrExit(migrateEnvSchema);
// dbmate waits for PostgreSQL silently: say so when it takes longer than a connection should.
const where = (() => {
  try {
    const u = new URL(DATABASE_URL);
    return `${u.hostname}:${u.port || 5432}`;
  } catch {
    return 'DATABASE_URL';
  }
})();
const waiting = setTimeout(() => process.stderr.write(`waiting for PostgreSQL at ${where} (up to ${STARTUP_WAIT_SECONDS} s)\n`), 2000);
try {
  await migrate(DATABASE_URL, STARTUP_WAIT_SECONDS);
  process.stdout.write('database is at the current schema\n');
} catch (err) {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit(1);
} finally {
  clearTimeout(waiting);
}
