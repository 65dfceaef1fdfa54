// `npm run reseal`: after MASTER_KEY was replaced (the old one moved to MASTER_KEY_PREVIOUS),
// seals every stored secret under the new key. Then MASTER_KEY_PREVIOUS can be removed.
import { z } from 'zod';
import { loadConfigOrExit, masterKeyValue, previousMasterKeys } from '../config.js';
import { createSql } from '../db/sql.js';
import { SecretBox } from './secrets.js';
import { resealSecrets } from './reseal.js';

const config = loadConfigOrExit(z.object({ DATABASE_URL: z.string().min(1), MASTER_KEY: masterKeyValue, MASTER_KEY_PREVIOUS: previousMasterKeys }));
const box = new SecretBox(config.MASTER_KEY, config.MASTER_KEY_PREVIOUS);
const sql = createSql(config.DATABASE_URL, { max: 1 });
try {
  const { accounts, resealed } = await resealSecrets(sql, box);
  process.stdout.write(`${resealed} of ${accounts} account(s) resealed under master key ${box.keyId}; the others already were\n`);
} catch (err) {
  process.stderr.write(`reseal failed, nothing was changed: ${(err as Error).message}\n`);
  process.exitCode = 1;
} finally {
  await sql.end({ timeout: 5 });
}
