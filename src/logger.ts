import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

// Anything that might carry a credential is redacted wherever it appears in a log object.
const redactPaths = [
  'password',
  'pass',
  'auth',
  'apiKey',
  'authorization',
  '*.password',
  '*.pass',
  '*.auth',
  '*.apiKey',
  '*.authorization',
  'req.headers.authorization',
];

/** A logger to stdout, or to `destination` (the dev stack's log files). */
export function createLogger(name: string, level = process.env.LOG_LEVEL ?? 'info', destination?: DestinationStream): Logger {
  const options = { name, level, redact: { paths: redactPaths, censor: '[redacted]' } };
  return destination ? pino(options, destination) : pino(options);
}
