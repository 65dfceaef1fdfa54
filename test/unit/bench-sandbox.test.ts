import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { vmCallCost } from '../../bench/sandbox.js';

// `npm run bench -- sandbox` replays the recorded workflow histories with no server and prints what
// running the workflow code costs: time in the SDK's sandbox, calls into it and promises.

const root = fileURLToPath(new URL('../..', import.meta.url));

test("a sandbox call with the SDK's timeout costs more than one without (Node starts a watchdog thread for it)", () => {
  const cost = vmCallCost(2000);
  assert.ok(cost.plain > 0 && cost.withTimeout > cost.plain, JSON.stringify(cost));
});

test('the sandbox bench replays the newest delivery and campaign histories and prints their counts', { timeout: 120_000 }, async () => {
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'bench/run.ts', 'sandbox'], {
    cwd: root,
    env: { ...process.env, BENCH_REPLAYS: '10' },
  });
  const delivery = /per delivery: ([\d.]+) ms in the sandbox \(([\d.]+) calls, .*?\), ([\d.]+) promises/.exec(stdout);
  assert.ok(delivery, stdout);
  // Every delivery enters the sandbox at least once per workflow task (three of them) and awaits its send.
  assert.ok(Number(delivery[1]) > 0 && Number(delivery[2]) >= 3 && Number(delivery[3]) >= 1, stdout);
  assert.match(stdout, /replayed v\d+-delivery\.binpb 10× and v\d+-campaign\.binpb \(\d+ recipients\)/);
  assert.match(stdout, /per recipient in all: [\d.]+ ms in the sandbox, [\d.]+ calls into it/);
});
