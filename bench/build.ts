// The build benchmark (`npm run bench -- build`). Starts the same real servers as `npm test`, puts a
// CSV list and one attachment per recipient into S3 (moto), builds a campaign from it and prints
// build time, recipients per second, peak RSS of the process hosting the worker, and the
// campaign workflow's history length next to that of a 10-row list.
//   BENCH_ROWS=100000 (default)  BENCH_ATTACHMENT_BYTES=2048 (default)
//   BENCH_ATTACHMENT=exact (default: statements/{{ customerId }}.pdf, one HEAD per recipient)
//                   | glob (statements/{{ customerId }}/*.pdf, one prefix listing per recipient)
import { startSharedServers } from '../test/helpers/servers.js';

const say = (line: string) => process.stdout.write(`[bench] ${line}\n`);
const ROWS = Number(process.env.BENCH_ROWS ?? 100_000);
const ATTACHMENT_BYTES = Number(process.env.BENCH_ATTACHMENT_BYTES ?? 2048);
const PUT_CONCURRENCY = 64;
const GLOB = process.env.BENCH_ATTACHMENT === 'glob';
const attachmentPattern = GLOB ? 'statements/{{ customerId }}/*.pdf' : 'statements/{{ customerId }}.pdf';
const attachmentKey = (i: number) => (GLOB ? `statements/C${i}/2026-10.pdf` : `statements/C${i}.pdf`);

export async function buildBenchmark(): Promise<void> {
const servers = await startSharedServers(say);
let failure: Error | undefined;
try {
  Object.assign(process.env, servers.env);
  // The harness reads the CM_TEST_* variables, so import it only once they are set.
  const { eventually, startHarness } = await import('../test/helpers/harness.js');
  const h = await startHarness({ imap: false });
  try {
    const definition = (key: string) => ({
      name: `bench ${key}`,
      from: 'Bench <bench@acme.test>',
      subject: 'Statement {{ customerId }}',
      html: '<p>Dear {{ name }}, your balance is {{ balance }}.</p>',
      attachments: [{ bucket: h.bucket, key: attachmentPattern, required: true }],
      recipientsFrom: { s3: { bucket: h.bucket, key } },
    });

    async function putList(key: string, n: number) {
      const lines = ['email,name,customerId,balance'];
      for (let i = 1; i <= n; i++) lines.push(`customer${i}@example.com,Customer ${i},C${i},${i * 3}`);
      await h.putObject(key, lines.join('\n'));
    }

    /** Builds a campaign from `key`; returns seconds, peak RSS and the history length. */
    async function build(key: string) {
      let peak = process.memoryUsage().rss;
      const sampler = setInterval(() => {
        peak = Math.max(peak, process.memoryUsage().rss);
      }, 50);
      const t0 = performance.now();
      const res = await h.api('POST', '/api/v1/campaigns', definition(key));
      if (res.status !== 201) throw new Error(`create: ${res.status} ${JSON.stringify(res.body)}`);
      const id = res.body.id as string;
      const done = await eventually(
        async () => {
          const c = await h.api('GET', `/api/v1/campaigns/${id}`);
          return c.body.status !== 'building' ? c.body : undefined;
        },
        30 * 60_000,
        'the build',
      );
      const seconds = (performance.now() - t0) / 1000;
      clearInterval(sampler);
      if (done.status !== 'awaiting_review') throw new Error(`build ended ${done.status}: ${done.error}`);
      const counts = await h.sql<{ buildStatus: string; n: number }[]>`
        SELECT build_status, count(*)::int AS n FROM recipients WHERE campaign_id = ${id} GROUP BY 1`;
      // The record says awaiting_review as soon as the activity wrote it; the history catches up
      // a moment later. Count it once it has stopped growing.
      const handle = h.client.workflow.getHandle(`campaign-${id}`);
      let events = -1;
      for (;;) {
        const n = (await handle.fetchHistory()).events?.length ?? 0;
        if (n === events) break;
        events = n;
        await new Promise((r) => setTimeout(r, 500));
      }
      return { seconds, peak, events, counts: Object.fromEntries(counts.map((c) => [c.buildStatus, c.n])) };
    }

    say(`putting ${ROWS} attachments of ${ATTACHMENT_BYTES} bytes into S3 for the pattern ${attachmentPattern} (not part of the build time)`);
    const body = Buffer.alloc(ATTACHMENT_BYTES, 0x25);
    const tPut = performance.now();
    let next = 1;
    await Promise.all(
      Array.from({ length: PUT_CONCURRENCY }, async () => {
        while (next <= ROWS) {
          const i = next++;
          await h.putObject(attachmentKey(i), body);
        }
      }),
    );
    say(`  done in ${((performance.now() - tPut) / 1000).toFixed(1)} s`);
    await putList('lists/small.csv', 10);
    await putList('lists/large.csv', ROWS);

    const rssBefore = process.memoryUsage().rss;
    const small = await build('lists/small.csv');
    const large = await build('lists/large.csv');
    const mb = (b: number) => `${(b / 1024 / 1024).toFixed(0)} MB`;
    say(`10-row list:        ${small.seconds.toFixed(2)} s, history ${small.events} events, statuses ${JSON.stringify(small.counts)}`);
    say(`${ROWS}-row list: ${large.seconds.toFixed(1)} s, ${(ROWS / large.seconds).toFixed(0)} recipients/s, statuses ${JSON.stringify(large.counts)}`);
    say(`peak RSS of the process hosting the worker (and the API and this driver): ${mb(large.peak)} (${mb(rssBefore)} before the builds)`);
    say(`campaign workflow history: ${large.events} events for ${ROWS} rows, ${small.events} for 10 rows: ${large.events === small.events ? 'equal' : 'DIFFERENT'}`);
    if (large.events !== small.events) failure = new Error('the history length depends on the list length');
  } finally {
    await h.close();
  }
} catch (err) {
  failure = err as Error;
}
await servers.stop();
if (failure) throw failure;
}
