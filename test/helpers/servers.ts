// The real servers `npm test` and `npm run bench` share: a Temporal dev server, embedded
// PostgreSQL, Dovecot and moto's S3 server on free ports, plus a prebuilt workflow bundle.
// Started once per run; each test file then makes its own database, queue and bucket.
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { findDovecot, installDovecot, startDovecot } from '../../src/dev/dovecot.js';
import { ensureMoto, startMoto } from '../../src/dev/moto.js';
import { freePort } from '../../src/dev/ports.js';
import { startEmbeddedPostgres } from '../../src/dev/postgres.js';
import { resolveTemporalCli, startTemporalDevServer } from '../../src/dev/temporal.js';
import { WORKFLOWS_PATH } from '../../src/worker/create.js';

export interface SharedServers {
  /** The environment variables the harness reads (CM_TEST_*, WORKFLOW_BUNDLE_PATH). */
  env: Record<string, string>;
  summary: string;
  stop(): Promise<void>;
}

export async function startSharedServers(say: (line: string) => void): Promise<SharedServers> {
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
  try {
    const root = await mkdtemp(join(tmpdir(), 'campaign-mailer-test-'));
    await chmod(root, 0o755); // embedded PostgreSQL runs as another user when we are root
    stops.push(() => rm(root, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 }));

    const cli = await resolveTemporalCli(say, { build: true });
    say(`Temporal CLI: ${cli.path ?? "the SDK's download"} (${cli.origin})`);
    let dovecotBinary = findDovecot();
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
    const motoBinary = await ensureMoto(say);

    const [temporalPort, pgPort, imapPort, s3Port] = [await freePort(), await freePort(), await freePort(), await freePort()];
    // Temporal first and alone: its start has a short deadline that a busy machine can miss.
    const temporal = await startTemporalDevServer({ cli, port: temporalPort });
    stops.unshift(temporal.stop);
    const [pg, imap, s3, bundle] = await Promise.all([
      startEmbeddedPostgres({ dir: join(root, 'postgres'), port: pgPort, database: 'postgres' }),
      startDovecot({ binary: dovecotBinary, dir: join(root, 'dovecot'), port: imapPort, password: 'test-imap-password' }),
      startMoto({ binary: motoBinary, port: s3Port }),
      bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: { info() {}, warn() {}, error: console.error, debug() {}, trace() {}, log() {} } }),
    ]);
    stops.unshift(pg.stop, imap.stop, s3.stop);
    const bundlePath = join(root, 'workflow-bundle.js');
    await writeFile(bundlePath, bundle.code);
    return {
      env: {
        CM_TEST_TEMPORAL_ADDRESS: temporal.address,
        CM_TEST_TEMPORAL_CLI: cli.path ?? '',
        CM_TEST_PG_ADMIN_URL: pg.adminUrl,
        CM_TEST_IMAP_PORT: String(imapPort),
        CM_TEST_IMAP_PASSWORD: imap.password,
        CM_TEST_S3_ENDPOINT: s3.endpoint,
        WORKFLOW_BUNDLE_PATH: bundlePath,
      },
      summary: `Temporal ${temporal.address}, PostgreSQL :${pgPort}, Dovecot :${imapPort}, S3 (moto) ${s3.endpoint}`,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
