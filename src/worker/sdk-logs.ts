import { DefaultLogger, makeTelemetryFilterString, type LogEntry, type LogLevel, type TelemetryOptions } from '@temporalio/worker';
import type { Logger } from '../logger.js';

/**
 * Warnings the SDK gives that this worker expects by design, logged at debug instead: an
 * operator's alerting on warnings should not fire at every start.
 */
const EXPECTED = new Set([
  // The send queue's worker runs sends only; workflows run on the main task queue's worker.
  'No workflows registered, not polling for workflow tasks',
]);

/** Whether an SDK warning is one this worker expects by design (see EXPECTED). */
export const expectedSdkWarning = (message: string) => EXPECTED.has(message);

const SDK_LEVEL: Record<string, LogLevel> = { trace: 'TRACE', debug: 'DEBUG', info: 'INFO', warn: 'WARN', error: 'ERROR', fatal: 'ERROR', silent: 'ERROR' };
const PINO_LEVEL = { TRACE: 'trace', DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error' } as const;

/**
 * The Temporal SDK's log (worker start and stop, activity and workflow task problems) through the
 * worker's own logger: one stream of JSON lines at one level, with the same redaction.
 */
export function sdkLogger(logger: Logger): DefaultLogger {
  return new DefaultLogger(SDK_LEVEL[logger.level] ?? 'INFO', (entry: LogEntry) => {
    const level = expectedSdkWarning(entry.message) ? 'debug' : PINO_LEVEL[entry.level];
    logger[level]({ sdk: true, ...entry.meta }, entry.message);
  });
}

/**
 * The SDK core's own log (workflow tasks it fails, its calls to the server at shutdown) forwarded
 * to the Runtime's logger (`sdkLogger`) instead of printed in core's format: warnings and errors
 * from core, errors from the libraries under it, as the SDK's default keeps them.
 */
export const sdkTelemetry: TelemetryOptions = {
  logging: { forward: {}, filter: makeTelemetryFilterString({ core: 'WARN', other: 'ERROR' }) },
};
