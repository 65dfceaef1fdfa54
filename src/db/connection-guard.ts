import type { Logger } from '../logger.js';

/**
 * True for the one crash of `postgres` 3.4.9 that no caller can catch: after a connection's
 * socket closed (PostgreSQL restarted, a proxy cut it), a write it had deferred with
 * `setImmediate` runs on the null socket and throws (porsager/postgres#1154, #1208; no release
 * fixes it yet). The connection is gone and its queries were rejected already.
 */
function isPostgresClosedSocketWrite(err: unknown): boolean {
  if (!(err instanceof TypeError)) return false;
  const stack = err.stack ?? '';
  return /reading 'write'/.test(err.message) && /nextWrite/.test(stack) && /postgres[\\/]src[\\/]connection\.js/.test(stack);
}

/**
 * Keeps a process alive through exactly that error (logged), so a database restart does not kill
 * a worker in the middle of its SMTP transactions. Any other uncaught exception still ends the
 * process with exit code 1, as Node's default would, logged as one fatal JSON line (its stack
 * in `err`) like the rest of the process's log.
 */
export function surviveClosedPostgresSockets(logger: Logger): void {
  process.on('uncaughtException', (err) => {
    if (isPostgresClosedSocketWrite(err)) {
      logger.warn('a PostgreSQL connection closed under a pending write (postgres client defect); the connection is dropped');
      return;
    }
    const message = (err instanceof Error ? err.message : String(err)).split('\n')[0];
    logger.fatal({ err }, `stopped by an error nothing caught: ${message}`);
    process.exit(1);
  });
}
