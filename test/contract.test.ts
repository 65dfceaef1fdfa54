import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createCampaign, waitForStatus } from './helpers/campaigns.js';
import { API_KEY, createKey, startHarness, type Harness } from './helpers/harness.js';

// The contract, checked by a tool nobody here wrote: Schemathesis reads the API's own OpenAPI
// document and sends what it describes (and what it forbids) with every check on: no 5xx, only
// documented statuses and bodies, 405 with Allow, valid data accepted, invalid data refused.
// `npm test` installs it (test/run.ts); its budget is MAX_EXAMPLES per operation and phase.

const MAX_EXAMPLES = Number(process.env.CM_SCHEMATHESIS_EXAMPLES ?? 5);
const SEED = process.env.CM_SCHEMATHESIS_SEED ?? '20261124';

let h: Harness;
let dir: string;
before(async () => {
  h = await startHarness({ imap: false });
  dir = await mkdtemp(join(tmpdir(), 'schemathesis-'));
});
after(async () => {
  await h?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Realistic data for every operation to reach its logic: a campaign, an account, a key, a suppression. */
async function seed() {
  const smtp = { host: '127.0.0.1', port: h.sink.port, security: 'plain' };
  for (const name of ['seeded']) {
    const res = await h.api('POST', '/api/v1/accounts', { name, smtp });
    assert.equal(res.status, 201, JSON.stringify(res.body));
  }
  const campaign = await createCampaign(h, {
    name: 'Contract',
    from: 'Acme <news@acme.test>',
    subject: 'Hello {{ name }}',
    text: 'Hi {{ name }}',
    recipients: [{ email: 'ann@example.com', name: 'Ann' }, { email: 'bob@example.com', name: 'Bob' }],
  });
  await waitForStatus(h, campaign, 'awaiting_review');
  const key = await createKey(h, { name: 'doomed-key', scopes: ['campaigns:read'] });
  const sup = await h.api('POST', '/api/v1/suppressions', { email: 'seeded@example.com' });
  assert.equal(sup.status, 201);
  return { campaign, keyId: key.id };
}

test('Schemathesis finds nothing with every check on', { timeout: 600_000 }, async () => {
  const { campaign, keyId } = await seed();
  const st = process.env.CM_TEST_SCHEMATHESIS;
  assert.ok(st, 'CM_TEST_SCHEMATHESIS is not set: run the tests with `npm test`, which installs Schemathesis');
  await writeFile(
    join(dir, 'schemathesis.toml'),
    `
headers = { Authorization = "Bearer ${API_KEY}" }

# A named account can be deleted by the run itself (it finds the names in GET /accounts).
[dictionaries.accounts]
values = ["default"]

# Names and addresses are left to the stateful phase, which follows the links from what it creates.
[parameters]
"path.id" = "${campaign}"
"path.rid" = "1"
"body.account" = { dictionary = "accounts" }

[[operations]]
include-path = "/api/v1/keys/{id}"
parameters = { "path.id" = "${keyId}" }

# The coverage phase spends about 40 s walking this operation's body schema (the whole campaign
# definition) to produce some ten cases, in either mode; its examples, fuzzing and stateful phases
# still run, and every other operation keeps its coverage phase.
[[operations]]
include-name = "POST /api/v1/campaigns"
phases.coverage.enabled = false
`,
  );
  const args = [
    'run',
    `${h.baseUrl}/api/v1/openapi.json`,
    '--url',
    h.baseUrl,
    '--checks',
    'all',
    '--max-examples',
    String(MAX_EXAMPLES),
    '--seed',
    SEED,
    // One worker: generation is Python and CPU-bound (threads gain little), and Hypothesis's lambda
    // descriptions are not thread-safe (4 workers once failed with an AST recursion error).
    '--workers',
    '1',
    '--request-timeout',
    '30',
    '--output-truncate',
    'false',
    // A Hypothesis health check about the generator's own speed (the campaign body is a big
    // schema and the machine is shared), not about the API.
    '--suppress-health-check',
    'too_slow',
    // Every request with its timing, for finding what makes a run slow.
    ...(process.env.CM_SCHEMATHESIS_REPORT_DIR ? ['--report', 'har', '--report-dir', process.env.CM_SCHEMATHESIS_REPORT_DIR] : []),
  ];
  const started = Date.now();
  const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve, reject) => {
    const child = spawn(st, args, { cwd: dir, env: { ...process.env, NO_COLOR: '1', COLUMNS: '160' } });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.once('error', reject);
    child.once('exit', (c) => resolve({ code: c, output }));
  });
  const seconds = ((Date.now() - started) / 1000).toFixed(0);
  process.stdout.write(`# schemathesis: exit ${code} in ${seconds} s\n# ${output.split('\n').filter((l) => /tested|passed|failed|Seed|operations/i.test(l)).join('\n# ')}\n`);
  assert.equal(code, 0, `Schemathesis found problems (in ${seconds} s):\n${output}`);
});
