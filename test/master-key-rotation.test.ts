import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createCipheriv, randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { SecretBox } from '../src/crypto/secrets.js';
import { SmtpSink } from '../src/dev/smtp-sink.js';
import { sealContext } from '../src/mail/account-pool.js';
import { verifyUnderKeys } from './helpers/app.js';
import { startHarness, TEST_MASTER_KEY, type Harness } from './helpers/harness.js';

// Issue 11.13: the master key can be rotated. Sealed values name their key; older keys open
// what they sealed; `npm run reseal` moves every stored secret to the newest key, after which
// the old key can go. Checked end to end: verify logs in to an SMTP server with the password.

const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));
const K1 = TEST_MASTER_KEY;
const K2 = randomBytes(32).toString('base64');
const PASSWORD = 'rotate-Secret-55e1';
let h: Harness;
let sink: SmtpSink;

before(async () => {
  h = await startHarness({ imap: false });
  sink = new SmtpSink({ user: 'billing', password: PASSWORD });
  await sink.start(0);
});
after(async () => {
  await sink?.stop();
  await h?.close();
});

/** A password sealed the way releases before key ids did (`v1:iv:tag:body`). */
function sealV1(key: string, plaintext: string, context: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', Buffer.from(key, 'hex'), iv);
  cipher.setAAD(Buffer.from(context));
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return ['v1', iv.toString('base64'), cipher.getAuthTag().toString('base64'), body.toString('base64')].join(':');
}

const reseal = (env: Record<string, string>) =>
  run(process.execPath, ['--import', 'tsx', 'src/crypto/reseal-cli.ts'], { cwd: root, env: { ...process.env, ...env } });

describe('master key rotation', () => {
  test('old values stay readable under MASTER_KEY_PREVIOUS, npm run reseal moves them all, then the old key can go', async () => {
    const kid1 = new SecretBox(K1).keyId;
    const kid2 = new SecretBox(K2).keyId;
    assert.notEqual(kid1, kid2);
    for (const name of ['current', 'legacy']) {
      const res = await h.api('POST', '/api/v1/accounts', { name, smtp: { host: '127.0.0.1', port: sink.port, security: 'plain', user: 'billing', password: PASSWORD } });
      assert.equal(res.status, 201, JSON.stringify(res.body));
    }
    // `legacy` holds a value sealed before key ids existed.
    await h.sql`UPDATE accounts SET smtp_password = ${sealV1(K1, PASSWORD, sealContext('default', 'legacy', 'smtp'))} WHERE name = 'legacy'`;
    const stored = async () => new Map((await h.sql<{ name: string; smtpPassword: string }[]>`SELECT name, smtp_password FROM accounts`).map((r) => [r.name, r.smtpPassword]));
    assert.match((await stored()).get('current')!, new RegExp(`^v2:${kid1}:`));

    for (const name of ['current', 'legacy']) {
      assert.deepEqual((await verifyUnderKeys(h, { masterKey: K1 }, name)).body, { smtp: { ok: true } }, `${name} under the old key`);
      // The new key alone cannot open them, and says which key it would need.
      const alone = await verifyUnderKeys(h, { masterKey: K2 }, name);
      assert.equal(alone.status, 503);
      assert.match(alone.body.error, name === 'current' ? new RegExp(`sealed under master key ${kid1}, which is neither MASTER_KEY nor in MASTER_KEY_PREVIOUS`) : /no configured master key opens it/);
      assert.ok(!JSON.stringify(alone.body).includes(PASSWORD));
      assert.deepEqual((await verifyUnderKeys(h, { masterKey: K2, previousMasterKeys: [K1] }, name)).body, { smtp: { ok: true } }, `${name} during rotation`);
    }

    // The command runs as the application's database role, like the worker and the API.
    const out = await reseal({ DATABASE_URL: h.workerEnv.DATABASE_URL!, MASTER_KEY: K2, MASTER_KEY_PREVIOUS: K1 });
    assert.match(out.stdout, new RegExp(`^2 of 2 account\\(s\\) resealed under master key ${kid2}`));
    assert.ok(!out.stdout.includes(PASSWORD) && !out.stderr.includes(PASSWORD));
    for (const [name, value] of await stored()) assert.match(value, new RegExp(`^v2:${kid2}:`), name);
    const audited = await h.sql`SELECT subject, principal, details FROM audit_log WHERE action = 'account.reseal' ORDER BY subject`;
    assert.deepEqual(audited.map((a) => [a.subject, a.principal, a.details.keyId]), [['current', 'operator:reseal', kid2], ['legacy', 'operator:reseal', kid2]]);

    for (const name of ['current', 'legacy']) {
      assert.deepEqual((await verifyUnderKeys(h, { masterKey: K2 }, name)).body, { smtp: { ok: true } }, `${name} under the new key alone`);
      assert.equal((await verifyUnderKeys(h, { masterKey: K1 }, name)).status, 503, `${name} is no longer under the old key`);
    }
    const again = await reseal({ DATABASE_URL: h.workerEnv.DATABASE_URL!, MASTER_KEY: K2 });
    assert.match(again.stdout, /^0 of 2 account\(s\) resealed/);
  });

  test('a bad MASTER_KEY_PREVIOUS stops the command naming the variable, never its value', async () => {
    const err = await reseal({ DATABASE_URL: h.workerEnv.DATABASE_URL!, MASTER_KEY: K2, MASTER_KEY_PREVIOUS: `${K1},not-a-key` }).then(
      () => assert.fail('reseal should refuse'),
      (e: { code: number; stderr: string }) => e,
    );
    assert.equal(err.code, 2);
    assert.match(err.stderr, /MASTER_KEY_PREVIOUS: key 2 of 2 must be 32 bytes/);
    assert.ok(!err.stderr.includes('not-a-key') && !err.stderr.includes(K1));
  });
});
