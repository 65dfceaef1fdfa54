import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { freePort } from '../src/dev/ports.js';
import { API_KEY, startHarness, type Harness } from './helpers/harness.js';

// `npm run api` on a port someone else holds: it must say so and exit 1, not log "API listening"
// and exit 0 while the other process answers in its place.

let h: Harness;
let holder: Server;
let port: number;
const root = fileURLToPath(new URL('..', import.meta.url));

before(async () => {
  h = await startHarness({ inProcessWorker: false, imap: false });
  port = await freePort();
  holder = createServer();
  await new Promise<void>((ok) => holder.listen(port, '127.0.0.1', ok));
});
after(async () => {
  await new Promise((r) => holder?.close(r));
  await h?.close();
});

test('the API on a port that is taken stops with an exit code and a line naming the port', async () => {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/api/main.ts'], {
    cwd: root,
    env: { ...process.env, ...h.workerEnv, API_KEY, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  proc.stdout.on('data', (d: Buffer) => (output += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const code = await Promise.race([
    new Promise<number | null>((ok) => proc.once('exit', ok)),
    new Promise<'running'>((ok) => setTimeout(() => ok('running'), 60_000)),
  ]);
  if (code === 'running') proc.kill('SIGKILL');
  assert.equal(code, 1, `the API exits 1 (got ${code}): ${output.slice(-2000)}`);
  assert.match(output, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: .*EADDRINUSE`));
  assert.doesNotMatch(output, /API listening/);
});
