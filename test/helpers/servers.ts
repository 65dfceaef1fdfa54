// The real servers `npm test` shares between its files: a Temporal dev server, embedded
// PostgreSQL, Dovecot and moto's S3 server on free ports, plus a prebuilt workflow bundle.
// Started once per run; each test file then makes its own database, queue and bucket.
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { findDovecot, installDovecot, startDovecot } from '../../src/dev/dovecot.js';
import { ensureMoto, startMoto } from '../../src/dev/moto.js';
import { freePort, freePorts } from '../../src/dev/ports.js';
import { startEmbeddedPostgres } from '../../src/dev/postgres.js';
import { resolveTemporalCli, startTemporalDevServer } from '../../src/dev/temporal.js';
import { WORKFLOWS_PATH } from '../../src/worker/create.js';

export interface SharedServers {
  temporalAddress: string;
  /** The superuser URL of the server's `postgres` database; callers make databases of their own. */
  pgAdminUrl: string;
  bundlePath: string;
  /** The environment variables the harness reads (CM_TEST_*, WORKFLOW_BUNDLE_PATH). */
  env: Record<string, string>;
  summary: string;
  stop(): Promise<void>;
}

export interface SharedServerOptions {
  /** Dovecot for Sent copies (default true). */
  imap?: boolean;
  /** moto's S3 server (default true). */
  s3?: boolean;
}

export async function startSharedServers(say: (line: string) => void, o: SharedServerOptions = {}): Promise<SharedServers> {
  const { imap: withImap = true, s3: withS3 = true } = o;
  const stops: (() => Promise<unknown>)[] = [];
  const stop = async () => {
    for (const s of stops.splice(0)) {
      try {
        await s();
      } catch (err) {
        say(`while stopping: ${(err as Error).message}`);
      }
    }
  };
  type Stoppable = { stop(): Promise<unknown> } | undefined;
  /** Starts servers side by side; if one fails, those that did start are stopped as well. */
  async function startAll<T extends readonly Stoppable[]>(starts: { [K in keyof T]: Promise<T[K]> }): Promise<T> {
    const settled = await Promise.allSettled(starts as readonly Promise<Stoppable>[]);
    for (const s of settled) if (s.status === 'fulfilled' && s.value) stops.unshift(s.value.stop);
    const failed = settled.find((s) => s.status === 'rejected');
    if (failed) throw failed.reason;
    return settled.map((s) => (s as PromiseFulfilledResult<Stoppable>).value) as unknown as T;
  }

  try {
    const root = await mkdtemp(join(tmpdir(), 'campaign-mailer-test-'));
    await chmod(root, 0o755); // embedded PostgreSQL runs as another user when we are root
    stops.push(() => rm(root, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 }));

    const cli = await resolveTemporalCli(say, { build: true });
    say(`Temporal CLI: ${cli.path ?? "the SDK's download"} (${cli.origin})`);
    let dovecotBinary: string | undefined;
    if (withImap) {
      dovecotBinary = findDovecot();
      if (!dovecotBinary) {
        try {
          dovecotBinary = await installDovecot(say);
        } catch (err) {
          throw new Error(`Dovecot is missing and could not be installed: ${(err as Error).message}`);
        }
      }
      if (!dovecotBinary) {
        throw new Error('the tests need Dovecot as their IMAP server: install dovecot-imapd (apt-get install dovecot-imapd), or run as root so the tests can install it');
      }
    }
    const motoBinary = withS3 ? await ensureMoto(say) : undefined;

    // Temporal first and alone: its start has a short deadline that a busy machine can miss. It
    // binds many ports of its own, so the others' ports are chosen once it is up.
    const temporal = await startTemporalDevServer({ cli, port: await freePort() });
    stops.unshift(temporal.stop);
    const bundle = bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: { info() {}, warn() {}, error: console.error, debug() {}, trace() {}, log() {} } });
    bundle.catch(() => undefined); // awaited below; a failed server start must not leave it unhandled
    const [imapPort, s3Port] = (await freePorts(2)) as [number, number];
    const [pg, imap, s3] = await startAll([
      startEmbeddedPostgres({ dir: join(root, 'postgres'), port: 'free', database: 'postgres' }),
      dovecotBinary ? startDovecot({ binary: dovecotBinary, dir: join(root, 'dovecot'), port: imapPort, password: 'test-imap-password' }) : Promise.resolve(undefined),
      motoBinary ? startMoto({ binary: motoBinary, port: s3Port }) : Promise.resolve(undefined),
    ] as const);
    const bundlePath = join(root, 'workflow-bundle.js');
    await writeFile(bundlePath, (await bundle).code);
    const env: Record<string, string> = {
      CM_TEST_TEMPORAL_ADDRESS: temporal.address,
      CM_TEST_TEMPORAL_CLI: cli.path ?? '',
      CM_TEST_PG_ADMIN_URL: pg.adminUrl,
      WORKFLOW_BUNDLE_PATH: bundlePath,
    };
    if (imap) Object.assign(env, { CM_TEST_IMAP_PORT: String(imapPort), CM_TEST_IMAP_PASSWORD: imap.password });
    if (s3) env.CM_TEST_S3_ENDPOINT = s3.endpoint;
    return {
      temporalAddress: temporal.address,
      pgAdminUrl: pg.adminUrl,
      bundlePath,
      env,
      summary: [`Temporal ${temporal.address}`, `PostgreSQL :${pg.port}`, imap && `Dovecot :${imapPort}`, s3 && `S3 (moto) ${s3.endpoint}`].filter(Boolean).join(', '),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
