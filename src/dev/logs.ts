import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { DefaultLogger, type LogEntry } from '@temporalio/worker';
import type { DestinationStream } from 'pino';
import { expectedSdkWarning } from '../worker/sdk-logs.js';

// `npm run dev` stays quiet: each part's own output goes to `<data>/logs/<part>.log`, and the
// screen shows the summary, then one line per warning or error. DEV_VERBOSE=1 shows everything.

export interface DevLogs {
  verbose: boolean;
  dir: string;
  /** The log file of a part (created on first use). */
  file(part: string): string;
  stream(part: string): WriteStream;
  /** Where a part's pino logger writes: its file, and its warnings and errors as one line each. */
  pinoDestination(part: string): DestinationStream | undefined;
  /** The Temporal SDK's logger for the worker: to its file, warnings and errors as one line each. */
  temporalLogger(): DefaultLogger | undefined;
  /** From now on warnings and errors show on screen; those before were counted. */
  started(): number;
}

const LEVELS: Record<number, string> = { 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };

export function devLogs(dataDir: string, verbose = process.env.DEV_VERBOSE === '1'): DevLogs {
  const dir = join(dataDir, 'logs');
  const streams = new Map<string, WriteStream>();
  let live = false;
  let heldBack = 0;
  const show = (part: string, level: string, message: string) => {
    if (!live) return void heldBack++;
    process.stderr.write(`[${part}] ${level} ${message.split('\n')[0]}\n`);
  };
  const stream = (part: string) => {
    let s = streams.get(part);
    if (!s) {
      mkdirSync(dir, { recursive: true });
      s = createWriteStream(join(dir, `${part}.log`), { flags: 'a' });
      streams.set(part, s);
    }
    return s;
  };
  if (!verbose) {
    // Node's own warnings (a dependency's notice about the Node version, say) go to a file too.
    process.removeAllListeners('warning');
    process.on('warning', (w) => {
      stream('node').write(`${new Date().toISOString()} ${w.name}: ${w.message}\n`);
      show('node', 'WARN', `${w.name}: ${w.message}`);
    });
  }
  return {
    verbose,
    dir,
    file: (part) => join(dir, `${part}.log`),
    stream,
    pinoDestination(part) {
      if (verbose) return undefined;
      const file = stream(part);
      return {
        write(line: string) {
          file.write(line);
          try {
            const entry = JSON.parse(line) as { level: number; msg?: string };
            if (entry.level >= 40) show(part, LEVELS[entry.level] ?? 'WARN', entry.msg ?? line);
          } catch {
            // Not JSON: kept in the file only.
          }
        },
      };
    },
    temporalLogger() {
      if (verbose) return undefined;
      const file = stream('worker');
      return new DefaultLogger('INFO', (entry: LogEntry) => {
        const meta = entry.meta && Object.keys(entry.meta).length > 0 ? ` ${JSON.stringify(entry.meta)}` : '';
        file.write(`${new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString()} ${entry.level} ${entry.message}${meta}\n`);
        if ((entry.level === 'WARN' && !expectedSdkWarning(entry.message)) || entry.level === 'ERROR') show('worker', entry.level, entry.message);
      });
    },
    started() {
      live = true;
      return heldBack;
    },
  };
}
