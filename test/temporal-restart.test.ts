import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { freePort } from '../src/dev/ports.js';
import { startTemporalDevServer, type TemporalDevServer } from '../src/dev/temporal.js';
import { approve, assertOncePerRecipient, campaignBody, createCampaign, messagesFor, waitForStatus } from './helpers/campaigns.js';
import { eventually, sleep, startHarness, type Harness } from './helpers/harness.js';

// A Temporal dev server of this test's own, persisted to SQLite, stopped and started again.
let dir: string;
let port: number;
let server: TemporalDevServer;
let h: Harness;
const cli = () => {
  const path = process.env.CM_TEST_TEMPORAL_CLI;
  return path ? { path, origin: 'test' } : { path: undefined, origin: "the SDK's download" };
};
const dbFile = () => join(dir, 'temporal.sqlite');
const startServer = () => startTemporalDevServer({ cli: cli(), port, dbFile: dbFile() });

before(async () => {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  dir = await mkdtemp(join(tmpdir(), 'cm-temporal-'));
  port = await freePort();
  server = await startServer();
  h = await startHarness({ temporalAddress: server.address, env: { SMTP_MESSAGES_PER_MINUTE: '300' } });
});
after(async () => {
  await h?.close();
  await server?.stop();
  await rm(dir, { recursive: true, force: true });
});

/**
 * A 40-recipient campaign approved; once its first messages are out, `interrupt` takes the server
 * away and it is started again on its file: the campaign completes, each message sent and filed once.
 */
async function campaignAcrossServerRestart(interrupt: () => Promise<void>): Promise<void> {
  const n = 40;
  const id = await createCampaign(h, campaignBody(n));
  await approve(h, id);
  await eventually(async () => messagesFor(h, id).length >= 8, 60_000, 'the first messages');
  await interrupt();
  const atStop = messagesFor(h, id).length;
  assert.ok(atStop < n, `stopped mid-campaign (${atStop}/${n})`);
  await sleep(3000);
  server = await startServer();
  const done = await waitForStatus(h, id, 'completed', 180_000);
  assert.deepEqual(done.counts, { total: n, pending: 0, sent: n, failed: 0, appended: n });
  assertOncePerRecipient(h, id, n);
  const copies = (await h.sentFolder()).filter((c) => c.messageId.includes(id));
  assert.equal(copies.length, n);
  assert.equal(new Set(copies.map((c) => c.messageId)).size, n);
}

test('the Temporal server stopped and restarted on its SQLite file mid-campaign: the campaign completes, once each', async () => {
  await campaignAcrossServerRestart(() => server.stop());
});

test('the Temporal server killed (SIGKILL) mid-campaign and started again on its SQLite file: nothing it answered is lost, once each', async () => {
  // The file is kept with a write-ahead log, synced at checkpoints (src/dev/temporal.ts): a killed
  // process must still leave every commit it answered in the file.
  assert.ok(existsSync(`${dbFile()}-wal`), 'the SQLite file is in write-ahead-log mode');
  await campaignAcrossServerRestart(async () => {
    const pids = execFileSync('pgrep', ['-f', `db-filename ${dbFile()}`], { encoding: 'utf8' }).trim().split('\n');
    for (const pid of pids) process.kill(Number(pid), 'SIGKILL');
    await server.stop().catch(() => undefined); // its process is gone; the SDK's handle is let go
  });
});
