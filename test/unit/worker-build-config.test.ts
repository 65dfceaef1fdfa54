import assert from 'node:assert/strict';
import { test } from 'node:test';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { apiEnvSchema, ConfigError, parseEnv, workerEnvSchema } from '../../src/config.js';

const workerEnv = {
  TEMPORAL_ADDRESS: 'localhost:7233',
  DATABASE_URL: 'postgres://u:p@localhost:5432/db',
  SMTP_URL: 'smtp://mailer:s3cret@smtp.example.com:587',
};

test('the worker reads WORKFLOW_BUNDLE_PATH and MAX_MESSAGE_BYTES through its validated config', () => {
  const c = parseEnv(workerEnvSchema, { ...workerEnv, WORKFLOW_BUNDLE_PATH: '/app/workflow-bundle.js', MAX_MESSAGE_BYTES: '2048' });
  assert.equal(c.WORKFLOW_BUNDLE_PATH, '/app/workflow-bundle.js');
  assert.equal(c.MAX_MESSAGE_BYTES, 2048);
  const defaults = parseEnv(workerEnvSchema, workerEnv);
  assert.equal(defaults.WORKFLOW_BUNDLE_PATH, undefined, 'unset: the worker bundles src/workflows itself');
  assert.equal(defaults.MAX_MESSAGE_BYTES, 25 * 1024 * 1024);
});

test('a bad MAX_MESSAGE_BYTES is named at start; an empty WORKFLOW_BUNDLE_PATH means unset', () => {
  assert.throws(
    () => parseEnv(workerEnvSchema, { ...workerEnv, MAX_MESSAGE_BYTES: '12' }),
    (err: unknown) => err instanceof ConfigError && err.problems.some((p) => /^MAX_MESSAGE_BYTES: .*1024/.test(p)),
  );
  assert.equal(parseEnv(workerEnvSchema, { ...workerEnv, WORKFLOW_BUNDLE_PATH: '' }).WORKFLOW_BUNDLE_PATH, undefined);
});

test('the message size cap is the worker build setting: the API config has no MAX_MESSAGE_BYTES', () => {
  const api = parseEnv(apiEnvSchema, { TEMPORAL_ADDRESS: 'localhost:7233', DATABASE_URL: workerEnv.DATABASE_URL, API_KEY: 'k'.repeat(16), MAX_MESSAGE_BYTES: '2048' });
  assert.equal((api as Record<string, unknown>).MAX_MESSAGE_BYTES, undefined);
});

test('`bundle` to a folder that does not exist: one line naming the file, exit 1, before any bundling', () => {
  const root = fileURLToPath(new URL('../..', import.meta.url));
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'bundle', '/nonexistent/folder/workflow-bundle.js'], { cwd: root, encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 1, r.stderr);
  assert.equal(r.stdout, '', 'nothing bundled');
  assert.match(r.stderr, /^cannot write the workflow bundle to \/nonexistent\/folder\/workflow-bundle\.js: ENOENT[^\n]*\n$/);
});
