// Delivery benchmark: the same N messages (a) through a plain pooled nodemailer loop, the ceiling
// on this machine, and (b) through Campaign Mailer end to end (API, workflows, ledger, SMTP), no
// throttle and no Sent copies, into Postfix's smtp-sink. Prints both throughputs, their ratio,
// the worker's CPU per recipient and its peak memory.
import { spawn } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { Client, Connection } from '@temporalio/client';
import nodemailer from 'nodemailer';
import { createApp } from '../src/api/app.js';
import { migrate } from '../src/db/migrate.js';
import { createSql } from '../src/db/sql.js';
import { SmtpSink } from '../src/dev/smtp-sink.js';
import { createLogger } from '../src/logger.js';
import { buildMessage, CampaignRenderer } from '../src/mail/message.js';
import { messageIdFor } from '../src/mail/message-id.js';
import { createDatabaseIfMissing } from '../src/dev/postgres.js';
import { startSharedServers } from '../test/helpers/servers.js';
import { processUsage, startPostfixSink } from './servers.js';

const N = Number(process.env.BENCH_N ?? 2000);
const CONNECTIONS = 3;
const say = (l: string) => process.stdout.write(`${l}\n`);
const KEY = 'bench-key-0123456789abcdef';

const definition = {
  from: { name: 'Acme Billing', address: 'billing@acme.test' },
  subject: 'Your statement, {{ name }}',
  text: 'Dear {{ name }},\nyour balance is {{ balance }} EUR.',
  html: '<p>Dear {{ name }},</p><p>Balance: <b>{{ balance }} EUR</b></p>',
};
const recipients = Array.from({ length: N }, (_, i) => ({ email: `customer${i + 1}@example.com`, name: `Customer ${i + 1}`, vars: { balance: i } }));

export async function deliveryBenchmark(): Promise<void> {
  const servers = await startSharedServers(say, { imap: false, s3: false });
  const databaseUrl = servers.pgAdminUrl.replace(/\/postgres$/, '/bench');
  let sinkPort: number;
  let stopSink: () => Promise<void>;
  let sinkName = "Postfix smtp-sink";
  const postfix = await startPostfixSink(say);
  if (postfix) {
    sinkPort = postfix.port;
    stopSink = postfix.stop;
  } else {
    sinkName = 'the built-in smtp-server sink (Postfix smtp-sink not available)';
    const sink = new SmtpSink();
    await sink.start(0);
    sinkPort = sink.port;
    stopSink = () => sink.stop();
  }
  try {
    await createDatabaseIfMissing(servers.pgAdminUrl, 'bench');
    await migrate(databaseUrl);

    // (a) the ceiling: a pooled nodemailer loop over prebuilt messages
    const renderer = new CampaignRenderer(definition);
    const date = new Date();
    const built = await Promise.all(
      recipients.map((r, i) => renderer.render({ id: i + 1, ...r }).then((parts) => buildMessage(parts, messageIdFor('ceiling', i + 1, 'billing@acme.test'), date))),
    );
    const transport = nodemailer.createTransport({ pool: true, host: '127.0.0.1', port: sinkPort, maxConnections: CONNECTIONS, maxMessages: Infinity });
    const a0 = performance.now();
    await Promise.all(built.map((m, i) => transport.sendMail({ envelope: { from: 'billing@acme.test', to: [recipients[i]!.email] }, raw: m.raw })));
    const ceilingSeconds = (performance.now() - a0) / 1000;
    transport.close();

    // (b) Campaign Mailer, worker in its own process
    const taskQueue = 'bench';
    const worker = spawn(process.execPath, ['--import', 'tsx', 'src/worker/main.ts'], {
      env: {
        ...process.env,
        TEMPORAL_ADDRESS: servers.temporalAddress,
        TEMPORAL_TASK_QUEUE: taskQueue,
        DATABASE_URL: databaseUrl,
        SMTP_URL: `smtp://127.0.0.1:${sinkPort}`,
        SMTP_MAX_CONNECTIONS: String(CONNECTIONS),
        IMAP_URL: '',
        WORKFLOW_BUNDLE_PATH: servers.bundlePath,
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    worker.stdout.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
    worker.stderr.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
    for (let t = Date.now(); !out.includes('worker polling'); ) {
      if (worker.exitCode !== null || Date.now() - t > 60_000) throw new Error(`worker did not start:\n${out}`);
      await new Promise((r) => setTimeout(r, 100));
    }

    const connection = await Connection.connect({ address: servers.temporalAddress });
    const client = new Client({ connection });
    const sql = createSql(databaseUrl);
    const app = createApp({ sql, client, apiKey: KEY, taskQueue, namespace: 'default', logger: createLogger('bench', 'silent') });
    const server = await new Promise<import('node:http').Server>((ok) => {
      const s = app.listen(0, '127.0.0.1', () => ok(s));
    });
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1`;
    const call = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(base + path, {
        method,
        headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return (await res.json()) as any;
    };
    try {
      const created = await call('POST', '/campaigns', { name: `Bench ${N}`, ...definition, recipients });
      if (!created.id) throw new Error(`the campaign was not created: ${JSON.stringify(created)}`);
      for (let t = Date.now(); ; ) {
        const c = await call('GET', `/campaigns/${created.id}`);
        if (c.status === 'awaiting_review') break;
        if (c.status === 'failed' || Date.now() - t > 300_000) throw new Error(`the campaign did not build: ${JSON.stringify(c)}`);
        await new Promise((r) => setTimeout(r, 200));
      }
      const before = await processUsage(worker.pid!);
      const b0 = performance.now();
      await call('POST', `/campaigns/${created.id}/approve`, {});
      let last: any;
      for (let t = Date.now(); ; ) {
        last = await call('GET', `/campaigns/${created.id}`);
        if (last.status === 'completed') break;
        if (Date.now() - t > 600_000) throw new Error(`the campaign did not complete: ${JSON.stringify(last)}`);
        await new Promise((r) => setTimeout(r, 200));
      }
      const seconds = (performance.now() - b0) / 1000;
      const usage = await processUsage(worker.pid!);
      const history = await client.workflow.getHandle(`campaign-${created.id}`).fetchHistory();
      const ceiling = N / ceilingSeconds;
      const ours = N / seconds;
      say('');
      say(`Delivery benchmark: ${N} messages into ${sinkName}, ${CONNECTIONS} SMTP connections`);
      say(`  (a) pooled nodemailer loop      ${ceiling.toFixed(0).padStart(6)} messages/s (${ceilingSeconds.toFixed(2)} s)`);
      say(`  (b) Campaign Mailer, end to end ${ours.toFixed(1).padStart(6)} messages/s (${seconds.toFixed(2)} s, approve → completed; sent ${last.counts.sent})`);
      say(`  ratio (b)/(a)                   ${((ours / ceiling) * 100).toFixed(1)}%`);
      say(`  worker CPU per recipient        ${(((usage.cpuSeconds - before.cpuSeconds) / N) * 1000).toFixed(2)} ms`);
      say(`  worker peak RSS                 ${usage.peakRssMb.toFixed(0)} MB`);
      say(`  campaign workflow history       ${history.events?.length ?? 0} events in its last run (continues as new every 1,000 recipients)`);
    } finally {
      server.close();
      worker.kill('SIGTERM');
      await new Promise((r) => worker.once('exit', r));
      await connection.close();
      await sql.end();
    }
  } finally {
    await stopSink();
    await servers.stop();
  }
}
