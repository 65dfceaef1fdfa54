import { pino, type Logger } from 'pino';

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

export function createLogger(name: string, level = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino({ name, level, redact: { paths: redactPaths, censor: '[redacted]' } });
}
