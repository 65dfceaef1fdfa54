import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { test } from 'node:test';
import { ConfigError } from '../../src/config.js';
import { temporalTarget } from '../../src/temporal.js';

// What @temporalio/envconfig makes of the environment and its TOML profile file, as the worker
// and the API connect with it. No user's own ~/.config/temporalio/temporal.toml may take part.
const dir = mkdtempSync(join(tmpdir(), 'temporal-config-'));
process.env.HOME = dir;
delete process.env.XDG_CONFIG_HOME;
const file = (name: string, text: string) => {
  writeFileSync(join(dir, name), text);
  return join(dir, name);
};
const crt = file('client.pem', '-----BEGIN CERTIFICATE-----\nclient\n-----END CERTIFICATE-----\n');
const key = file('client.key', '-----BEGIN PRIVATE KEY-----\nkey\n-----END PRIVATE KEY-----\n');
const ca = file('ca.pem', '-----BEGIN CERTIFICATE-----\nca\n-----END CERTIFICATE-----\n');

function oneLine(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `a ConfigError, not ${String(err)}`);
    assert.equal(err.problems.length, 1);
    assert.doesNotMatch(err.problems[0]!, /\n/);
    return err.problems[0]!;
  }
  return assert.fail('should have thrown');
}

test('TEMPORAL_ADDRESS and TEMPORAL_NAMESPACE alone: a plain connection, namespace default when unset', () => {
  assert.deepEqual(temporalTarget({ TEMPORAL_ADDRESS: 'temporal:7233', TEMPORAL_NAMESPACE: 'mailer' }), {
    connectionOptions: { address: 'temporal:7233' },
    namespace: 'mailer',
  });
  assert.equal(temporalTarget({ TEMPORAL_ADDRESS: 'temporal:7233' }).namespace, 'default');
});

test('TEMPORAL_API_KEY turns on TLS with the key; an empty one is unset', () => {
  const t = temporalTarget({ TEMPORAL_ADDRESS: 'ns.a1b2c.tmprl.cloud:7233', TEMPORAL_API_KEY: 'secret-key' });
  assert.deepEqual(t.connectionOptions, { address: 'ns.a1b2c.tmprl.cloud:7233', apiKey: 'secret-key', tls: true });
  assert.deepEqual(temporalTarget({ TEMPORAL_ADDRESS: 'temporal:7233', TEMPORAL_API_KEY: '' }).connectionOptions, {
    address: 'temporal:7233',
  });
});

test('mTLS from TEMPORAL_TLS_* variables: client pair, server CA and server name', () => {
  const t = temporalTarget({
    TEMPORAL_ADDRESS: 'temporal.internal:7233',
    TEMPORAL_TLS_CLIENT_CERT_PATH: crt,
    TEMPORAL_TLS_CLIENT_KEY_PATH: key,
    TEMPORAL_TLS_SERVER_CA_CERT_PATH: ca,
    TEMPORAL_TLS_SERVER_NAME: 'frontend.temporal.internal',
  });
  type Bytes = Uint8Array;
  const tls = t.connectionOptions.tls as { clientCertPair: { crt: Bytes; key: Bytes }; serverRootCACertificate: Bytes; serverNameOverride: string };
  const text = (b: Bytes) => Buffer.from(b).toString();
  assert.equal(text(tls.clientCertPair.crt), '-----BEGIN CERTIFICATE-----\nclient\n-----END CERTIFICATE-----\n');
  assert.match(text(tls.clientCertPair.key), /PRIVATE KEY/);
  assert.match(text(tls.serverRootCACertificate), /\nca\n/);
  assert.equal(tls.serverNameOverride, 'frontend.temporal.internal');
});

test('a profile of the TOML file (Temporal Cloud with mTLS), with the environment over it', () => {
  const toml = file(
    'temporal.toml',
    `[profile.cloud]\naddress = "mailer.a1b2c.tmprl.cloud:7233"\nnamespace = "mailer.a1b2c"\n` +
      `[profile.cloud.tls]\nclient_cert_path = "${crt}"\nclient_key_path = "${key}"\n`,
  );
  const t = temporalTarget({ TEMPORAL_CONFIG_FILE: toml, TEMPORAL_PROFILE: 'cloud' });
  assert.equal(t.connectionOptions.address, 'mailer.a1b2c.tmprl.cloud:7233');
  assert.equal(t.namespace, 'mailer.a1b2c');
  assert.ok((t.connectionOptions.tls as { clientCertPair?: unknown }).clientCertPair);
  const over = temporalTarget({ TEMPORAL_CONFIG_FILE: toml, TEMPORAL_PROFILE: 'cloud', TEMPORAL_NAMESPACE: 'other.a1b2c' });
  assert.equal(over.namespace, 'other.a1b2c');
});

test('the default profile file in ~/.config/temporalio is read when present', () => {
  const t = () => temporalTarget({});
  assert.match(oneLine(t), /^TEMPORAL_ADDRESS: is required/);
  const cfg = join(dir, '.config', 'temporalio');
  mkdirSync(cfg, { recursive: true });
  writeFileSync(join(cfg, 'temporal.toml'), '[profile.default]\naddress = "from-file:7233"\n');
  assert.equal(t().connectionOptions.address, 'from-file:7233');
});

test('a missing or broken profile file, or a profile it lacks, is one line naming the variable', () => {
  assert.equal(oneLine(() => temporalTarget({ TEMPORAL_CONFIG_FILE: join(dir, 'nope.toml') })), `TEMPORAL_CONFIG_FILE: ${join(dir, 'nope.toml')} does not exist`);
  const broken = file('broken.toml', '[profile.default\naddress = "x:1"\n');
  assert.match(oneLine(() => temporalTarget({ TEMPORAL_CONFIG_FILE: broken })), /^TEMPORAL_CONFIG_FILE: .*broken\.toml: /);
  const unknown = file('unknown.toml', '[profile.default]\nadress = "x:1"\n');
  assert.match(oneLine(() => temporalTarget({ TEMPORAL_CONFIG_FILE: unknown })), /unrecognized.*adress/);
  const good = file('good.toml', '[profile.default]\naddress = "x:7233"\n');
  assert.match(oneLine(() => temporalTarget({ TEMPORAL_CONFIG_FILE: good, TEMPORAL_PROFILE: 'prod' })), /Profile 'prod' not found/);
  assert.match(oneLine(() => temporalTarget({ TEMPORAL_ADDRESS: 'x:7233', TEMPORAL_TLS_CLIENT_CERT_PATH: join(dir, 'no.pem'), TEMPORAL_TLS_CLIENT_KEY_PATH: key })), /^TEMPORAL_TLS: cannot read .*no\.pem/);
});

const root = fileURLToPath(new URL('../..', import.meta.url));
const run = promisify(execFile);
// Both processes at once: each spends its seconds loading its modules, not waiting on the other.
test('the worker and API processes with a missing profile file exit 2 with one line, before connecting anywhere', async () => {
  const runs = ([
    ['worker', 'src/worker/main.ts', { SMTP_URL: 'smtp://127.0.0.1:1' }],
    ['API', 'src/api/main.ts', { API_KEY: 'k'.repeat(16) }],
  ] as const).map(async ([name, entry, env]) => {
    const r = await run(process.execPath, ['--import', 'tsx', entry], {
      cwd: root,
      env: { PATH: process.env.PATH, HOME: dir, DATABASE_URL: 'postgres://u:p@127.0.0.1:1/db', TEMPORAL_CONFIG_FILE: '/nowhere/temporal.toml', ...env },
      timeout: 60_000,
    }).then(
      (ok) => ({ code: 0, stderr: ok.stderr }),
      (err: { code?: number; stderr?: string }) => ({ code: err.code, stderr: err.stderr ?? '' }),
    );
    assert.equal(r.code, 2, `${name}: ${r.stderr}`);
    assert.equal(r.stderr, 'Configuration error: TEMPORAL_CONFIG_FILE: /nowhere/temporal.toml does not exist\n', name);
  });
  await Promise.all(runs);
});
