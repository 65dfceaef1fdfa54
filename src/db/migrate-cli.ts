import { z } from 'zod';
import { loadConfigOrExit } from '../config.js';
import { migrate } from './migrate.js';

const { DATABASE_URL } = loadConfigOrExit(z.object({ DATABASE_URL: z.string().min(1) }));
try {
  await migrate(DATABASE_URL);
  process.stdout.write('database is at the current schema\n');
} catch (err) {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit(1);
}
