import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import { SecretBox } from '../src/crypto/secrets.js';
import { verifyUnderKeys } from './helpers/app.js';
import { startHarness, TEST_MASTER_KEY, type Harness } from './helpers/harness.js';
import { startOAuthMailServers, type OAuthMailServers } from './helpers/oauth-server.js';

// OAuth2 secrets are sealed like passwords, so a master-key rotation moves them too: after
// `npm run reseal` the new key alone opens them and the account still gets its token.

const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));
const K2 = randomBytes(32).toString('base64');
const SECRET = 'rotate-oauth2-Secret~91';
let h: Harness;
let mail: OAuthMailServers;

before(async () => {
  h = await startHarness({ imap: false });
  mail = await startOAuthMailServers();
  mail.auth.clients.set('app', { mailbox: 'box@contoso.test', secret: SECRET, scopes: ['https://outlook.office365.com/.default'] });
});
after(async () => {
  await mail?.stop();
  await h?.close();
});

test('npm run reseal moves OAuth2 secrets to the new master key; the account still gets its token', async () => {
  const res = await h.api('POST', '/api/v1/accounts', {
    name: 'rotating',
    smtp: { host: '127.0.0.1', port: mail.sink.port, security: 'plain' },
    oauth2: { provider: 'microsoft', flow: 'client_credentials', tenant: 'contoso.test', clientId: 'app', user: 'box@contoso.test', clientSecret: SECRET, tokenUrl: mail.auth.tokenUrl },
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  const sealed = async () => (await h.sql<{ oauth2Secrets: string }[]>`SELECT oauth2_secrets FROM accounts WHERE name = 'rotating'`)[0]!.oauth2Secrets;
  assert.match(await sealed(), new RegExp(`^v2:${new SecretBox(TEST_MASTER_KEY).keyId}:`));

  const out = await run(process.execPath, ['--import', 'tsx', 'src/crypto/reseal-cli.ts'], {
    cwd: root,
    env: { ...process.env, DATABASE_URL: h.workerEnv.DATABASE_URL!, MASTER_KEY: K2, MASTER_KEY_PREVIOUS: TEST_MASTER_KEY },
  });
  assert.match(out.stdout, /^1 of 1 account\(s\) resealed/);
  assert.ok(!out.stdout.includes(SECRET) && !out.stderr.includes(SECRET));
  assert.match(await sealed(), new RegExp(`^v2:${new SecretBox(K2).keyId}:`));

  assert.deepEqual((await verifyUnderKeys(h, { masterKey: K2 }, 'rotating')).body, { oauth2: { ok: true }, smtp: { ok: true } });
  assert.equal((await verifyUnderKeys(h, { masterKey: TEST_MASTER_KEY }, 'rotating')).status, 503, 'the old key alone no longer opens it');
});
