import assert from 'node:assert/strict';
import { test } from 'node:test';
import { apiEnvSchema, ConfigError, parseEnv, workerEnvSchema } from '../../src/config.js';

const workerEnv = {
  TEMPORAL_ADDRESS: 'localhost:7233',
  DATABASE_URL: 'postgres://u:p@localhost:5432/db',
  SMTP_URL: 'smtp://mailer:s3cret@smtp.example.com:587',
};

test('SMTP and IMAP URLs become endpoints with decoded credentials and default ports', () => {
  const c = parseEnv(workerEnvSchema, { ...workerEnv, SMTP_URL: 'smtps://a%40b.test:p%2Fw@mail.test', IMAP_URL: 'imap://u:p@imap.test' });
  assert.deepEqual(c.SMTP_URL, { host: 'mail.test', port: 465, secure: true, user: 'a@b.test', pass: 'p/w' });
  assert.deepEqual(c.IMAP_URL, { host: 'imap.test', port: 143, secure: false, user: 'u', pass: 'p' });
  assert.equal(c.TEMPORAL_NAMESPACE, 'default');
  assert.equal(c.DELIVERY_UNKNOWN_POLICY, 'resend');
});

test('each bad variable is named with its problem, and no value is echoed', () => {
  try {
    parseEnv(workerEnvSchema, { ...workerEnv, SMTP_URL: 'http://user:hunter2@x', TEMPORAL_ADDRESS: 'not a host', DATABASE_URL: undefined });
    assert.fail('should have thrown');
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    const text = err.problems.join('\n');
    assert.match(text, /^SMTP_URL: must start with smtp:\/\/ or smtps:\/\//m);
    assert.match(text, /^TEMPORAL_ADDRESS: must be host:port/m);
    assert.match(text, /^DATABASE_URL: is required/m);
    assert.doesNotMatch(text, /hunter2/);
  }
});

test('API configuration: key length and port range are checked, empty means unset', () => {
  const base = { TEMPORAL_ADDRESS: 'localhost:7233', DATABASE_URL: 'postgres://localhost/db' };
  assert.equal(parseEnv(apiEnvSchema, { ...base, API_KEY: 'k'.repeat(16), PORT: '' }).PORT, 3000);
  assert.throws(() => parseEnv(apiEnvSchema, { ...base, API_KEY: 'short' }), /API_KEY: must be at least 16 characters/);
  assert.throws(() => parseEnv(apiEnvSchema, { ...base, API_KEY: 'k'.repeat(16), PORT: '70000' }), /PORT: must be between 1 and 65535/);
  assert.throws(() => parseEnv(apiEnvSchema, { ...base, API_KEY: 'k'.repeat(16), PORT: 'abc' }), /PORT: /);
});

test("the placeholders of .env.example do not start an API, and unsubscribe links are https outside this machine", () => {
  const base = { TEMPORAL_ADDRESS: 'localhost:7233', DATABASE_URL: 'postgres://localhost/db', API_KEY: 'k'.repeat(16) };
  assert.throws(() => parseEnv(apiEnvSchema, { ...base, API_KEY: 'replace-with-a-long-random-api-key' }), /API_KEY: is the placeholder of \.env\.example/);
  assert.throws(() => parseEnv(apiEnvSchema, { ...base, API_KEY: 'CHANGE-ME-0123456789' }), /API_KEY: is the placeholder/);
  assert.throws(() => parseEnv(apiEnvSchema, { ...base, PUBLIC_URL: 'http://mailer.example.com' }), /PUBLIC_URL: must be https \(plain http only for this machine/);
  for (const url of ['https://mailer.example.com', 'http://127.0.0.1:3000', 'http://localhost:3000', 'http://[::1]:3000']) {
    assert.equal(parseEnv(apiEnvSchema, { ...base, PUBLIC_URL: url }).PUBLIC_URL, url);
  }
});

test("SMTP_SEND_WINDOW is the default account's send window as JSON; a bad one is named with its problem", () => {
  const window = { days: ['mon', 'fri'], from: '08:00', to: '18:00', timeZone: 'Europe/Berlin' };
  assert.deepEqual(parseEnv(workerEnvSchema, { ...workerEnv, SMTP_SEND_WINDOW: JSON.stringify(window) }).SMTP_SEND_WINDOW, window);
  assert.equal(parseEnv(workerEnvSchema, workerEnv).SMTP_SEND_WINDOW, undefined);
  for (const [value, problem] of [
    ['mon-fri 8-18', /^SMTP_SEND_WINDOW: must be JSON like/m],
    [JSON.stringify({ ...window, timeZone: 'Berlin' }), /^SMTP_SEND_WINDOW\.timeZone: is not an IANA time zone/m],
  ] as const) {
    assert.throws(
      () => parseEnv(workerEnvSchema, { ...workerEnv, SMTP_SEND_WINDOW: value }),
      (err: unknown) => err instanceof ConfigError && problem.test(err.problems.join('\n')),
    );
  }
});
