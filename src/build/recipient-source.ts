import { pipeline, Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { parse } from 'csv-parse';
import { parserStream } from 'stream-json';
import { pick } from 'stream-json/filters/pick.js';
import { streamArray } from 'stream-json/streamers/stream-array.js';
import type { ListFormat } from '../contract/campaign.js';
import { CSV_OPTIONS, csvColumns, csvHeaderProblem } from './csv-header.js';
import type { ListRecipientSource } from '../db/campaigns.js';
import { isPermanentS3Error, type S3Store } from '../s3/client.js';
import { LocationDeniedError } from '../s3/locations.js';

/**
 * One entry of a list as the build reads it: the entry itself (checked by the assessor), and for a
 * threaded follow-up the Message-ID its message answers and the References it carries.
 */
export interface ListEntry {
  raw: unknown;
  threadMessageId?: string | null;
  /** Its References, space-separated (see RecipientRow). */
  threadReferences?: string | null;
}

/** A campaign-level problem with the list as a whole: the build ends with this reason. */
export class SourceError extends Error {
  override name = 'SourceError';
}

/**
 * The list could not be read to its end (a connection reset, a timeout, a store error part-way):
 * nothing is known to be wrong with the list, so the build is retried and resumes.
 */
class SourceReadError extends Error {
  override name = 'SourceReadError';
  constructor(where: string, cause: unknown) {
    super(`reading ${where} failed part-way: ${(cause as Error)?.message ?? String(cause)}`, { cause });
  }
}

/**
 * Whether an error met while parsing says something about the list itself. A read error (tagged
 * by SourceProgress.track), an abort or a stream closed early is not the list's fault.
 */
function isFormatError(err: unknown): boolean {
  if (err instanceof SourceReadError) return false;
  const e = err as { name?: string; code?: string };
  return e?.name !== 'AbortError' && e?.code !== 'ERR_STREAM_PREMATURE_CLOSE';
}

/**
 * Joins streams with pipeline(): an error in any of them destroys them all and surfaces where
 * the last one is read, and a reader that stops early releases the source. Never `pipe()`, which
 * leaves a source's error unhandled (an uncaught exception that ends the worker process).
 */
function joined(...streams: [Readable, ...NodeJS.ReadWriteStream[]]): Readable {
  pipeline(streams as unknown as [Readable, NodeJS.WritableStream], () => {
    // the error, if any, reaches the reader through the last stream
  });
  return streams[streams.length - 1] as Readable;
}

/**
 * A CSV row as a recipient: `email`, `name`, `cc`, `bcc`; every other column is a variable. An
 * empty cell is no value, so a template that uses it blocks the recipient instead of printing "".
 */
function fromCsvRow(row: Record<string, string>): unknown {
  const { email, name, cc, bcc, ...cells } = row;
  const vars = Object.fromEntries(Object.entries(cells).filter(([, v]) => v !== ''));
  const r: Record<string, unknown> = { email: email ?? '', vars };
  if (name) r.name = name;
  if (cc) r.cc = cc;
  if (bcc) r.bcc = bcc;
  return r;
}

async function* csvRows(input: Readable, where: string): AsyncGenerator<unknown> {
  const parser = joined(input, parse({ columns: csvColumns, ...CSV_OPTIONS }));
  let first = true;
  try {
    for await (const row of parser as AsyncIterable<Record<string, string>>) {
      const problem = first ? csvHeaderProblem(Object.keys(row)) : undefined;
      if (problem) throw new SourceError(`${where} ${problem}`);
      first = false;
      yield fromCsvRow(row);
    }
  } catch (err) {
    if (err instanceof SourceError || !isFormatError(err)) throw err;
    throw new SourceError(`${where} is not valid CSV: ${(err as Error).message}`);
  }
}

/** JSON Lines: one recipient object per line, streamed like the CSV. */
async function* jsonLines(input: Readable, where: string): AsyncGenerator<unknown> {
  let n = 0;
  const parseLine = (line: string) => {
    n++;
    if (line.trim() === '') return undefined;
    try {
      return { value: JSON.parse(line) as unknown };
    } catch {
      throw new SourceError(`${where} line ${n} is not a JSON object`);
    }
  };
  // Read by async iteration, which passes on a source error (readline's interface does not).
  const decoder = new StringDecoder('utf8');
  let rest = '';
  for await (const chunk of input as AsyncIterable<Buffer | string>) {
    const lines = (rest + (typeof chunk === 'string' ? chunk : decoder.write(chunk))).split('\n');
    rest = lines.pop()!;
    for (const line of lines) {
      const parsed = parseLine(line.replace(/\r$/, ''));
      if (parsed) yield parsed.value;
    }
  }
  const last = parseLine((rest + decoder.end()).replace(/\r$/, ''));
  if (last) yield last.value;
}

/**
 * A JSON document: an array of recipients, or an object whose `recipients` array holds them
 * (other keys are ignored). Streamed: one element is assembled at a time, never the document.
 */
async function* jsonDocument(input: Readable, first: string | undefined, where: string): AsyncGenerator<unknown> {
  if (first !== '[' && first !== '{') {
    throw new SourceError(`${where} is not a JSON array or object of recipients`);
  }
  const elements =
    first === '{'
      ? joined(input, parserStream(), pick.asStream({ filter: 'recipients', once: true }), streamArray.asStream())
      : joined(input, parserStream(), streamArray.asStream());
  let n = 0;
  try {
    for await (const { value } of elements as AsyncIterable<{ key: number; value: unknown }>) {
      n++;
      yield value;
    }
  } catch (err) {
    if (!isFormatError(err)) throw err;
    throw new SourceError(`${where} is not valid JSON${first === '{' ? ' with a "recipients" array' : ''}: ${(err as Error).message}`);
  }
  if (n === 0 && first === '{') throw new SourceError(`${where} has no recipients: its "recipients" array is missing or empty`);
}

const WHITESPACE = new Set([0x20, 0x09, 0x0a, 0x0d, 0xef, 0xbb, 0xbf]); // and a UTF-8 BOM
/** How far a sniff reads for the end of the first line before it calls the object a JSON document. */
const FIRST_LINE_LIMIT = 1 << 20;

/**
 * The format a list's name or Content-Type declares, if any. `.jsonl`/`.ndjson` are JSON Lines,
 * `.json` a JSON document, `.csv` CSV; likewise by media type.
 */
export function declaredFormat(key: string, contentType?: string): ListFormat | undefined {
  const ext = /\.([a-z]+)$/i.exec(key)?.[1]?.toLowerCase();
  if (ext === 'jsonl' || ext === 'ndjson') return 'jsonl';
  if (ext === 'json') return 'json';
  if (ext === 'csv') return 'csv';
  const type = contentType?.split(';')[0]?.trim().toLowerCase();
  if (type === 'application/x-ndjson' || type === 'application/jsonl' || type === 'application/x-jsonlines') return 'jsonl';
  if (type === 'application/json') return 'json';
  if (type === 'text/csv') return 'csv';
  return undefined;
}

/**
 * The format of a list nothing declares, from its opening: `[` is a JSON array; `{` is JSON Lines
 * when the first line alone is a JSON object, else a JSON document; anything else is CSV.
 */
export function sniffFormat(opening: string): ListFormat {
  const text = opening.replace(/^[\s\uFEFF]+/, '');
  if (text.startsWith('[')) return 'json';
  if (!text.startsWith('{')) return 'csv';
  const end = text.indexOf('\n');
  if (end === -1) return 'json';
  try {
    const line = JSON.parse(text.slice(0, end)) as unknown;
    return line !== null && typeof line === 'object' && !Array.isArray(line) ? 'jsonl' : 'json';
  } catch {
    return 'json';
  }
}

/**
 * Reads the start of a stream without losing it: until the first non-blank byte, and when that
 * is `{` on to the end of the first line (at most FIRST_LINE_LIMIT bytes). Returns that opening
 * and a stream that replays it followed by the rest.
 */
async function peek(input: Readable): Promise<{ opening: string; first: string | undefined; body: Readable }> {
  const it = input[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>;
  const head: Buffer[] = [];
  let size = 0;
  let first: string | undefined;
  for (;;) {
    if (first !== undefined && (first !== '{' || head.some((b) => b.includes(0x0a)) || size >= FIRST_LINE_LIMIT)) break;
    const next = await it.next();
    if (next.done) break;
    const chunk = Buffer.from(next.value);
    head.push(chunk);
    size += chunk.length;
    if (first === undefined) {
      const at = chunk.findIndex((b) => !WHITESPACE.has(b));
      if (at !== -1) first = String.fromCharCode(chunk[at]!);
    }
  }
  async function* replay() {
    yield* head;
    for (;;) {
      const next = await it.next();
      if (next.done) return;
      yield Buffer.from(next.value);
    }
  }
  return { opening: Buffer.concat(head).toString('utf8'), first, body: Readable.from(replay()) };
}

/** How long a list read may wait for its next bytes before it counts as broken. */
const READ_IDLE_MS = 60_000;

/** How much of a source has been read; `fraction` is unknown while the source's size is. */
export class SourceProgress {
  bytesRead = 0;
  bytesTotal?: number;
  get fraction(): number | undefined {
    return this.bytesTotal ? Math.min(1, this.bytesRead / this.bytesTotal) : undefined;
  }
  /**
   * Counts the bytes of `input` as they are consumed, and tags its errors as read errors (not a
   * verdict on the list). Read by async iteration, so an error of `input` always has a reader,
   * and a reader that stops early destroys `input` (an S3 body gives its connection back).
   */
  track(input: Readable, where: string): Readable {
    const progress = this;
    async function* counted(): AsyncGenerator<Buffer> {
      const chunks = (input as AsyncIterable<Buffer | string>)[Symbol.asyncIterator]();
      try {
        for (;;) {
          // A connection that goes quiet without closing would hold the build for ever (its
          // heartbeat goes on): waiting longer than READ_IDLE_MS for the next bytes is a read error.
          let idle: NodeJS.Timeout | undefined;
          const next = await Promise.race([
            chunks.next(),
            new Promise<never>((_, reject) => {
              idle = setTimeout(() => reject(new Error(`no data for ${READ_IDLE_MS / 1000} s`)), READ_IDLE_MS);
            }),
          ]).finally(() => clearTimeout(idle));
          if (next.done) return;
          const bytes = typeof next.value === 'string' ? Buffer.from(next.value) : next.value;
          progress.bytesRead += bytes.length;
          yield bytes;
        }
      } catch (err) {
        throw new SourceReadError(where, err);
      } finally {
        input.destroy();
      }
    }
    return Readable.from(counted(), { objectMode: false });
  }
}

/** CSV text in pieces, so progress moves while it is parsed. */
function* pieces(text: string, size = 64 * 1024): Generator<string> {
  for (let i = 0; i < text.length; i += size) yield text.slice(i, i + size);
}

/**
 * The recipients of a source, one raw object at a time, never the whole list at once. An S3
 * list is CSV, a JSON document or JSON Lines: as the source says, else as its key or
 * Content-Type declares, else as its opening looks (see sniffFormat).
 */
export async function* readRecipientSource(
  source: ListRecipientSource,
  s3: S3Store,
  progress = new SourceProgress(),
): AsyncGenerator<unknown> {
  if (source.type === 'inline') {
    progress.bytesTotal = source.recipients.length;
    for (const r of source.recipients) {
      progress.bytesRead++;
      yield r;
    }
    return;
  }
  if (source.type === 'csv') {
    progress.bytesTotal = source.text.length;
    yield* csvRows(progress.track(Readable.from(pieces(source.text)), 'recipientsCsv'), 'recipientsCsv');
    return;
  }
  const where = `s3://${source.bucket}/${source.key}`;
  let object: { body: Readable; contentType?: string; size?: number };
  try {
    object = await s3.stream(source.bucket, source.key);
  } catch (err) {
    // A missing object or bucket, a refusal or a place outside the tenant's locations is the
    // list's problem; a network error or a store's 5xx is worth another attempt.
    if (!(err instanceof LocationDeniedError) && !isPermanentS3Error(err)) throw new SourceReadError(where, err);
    throw new SourceError(`the recipient list ${where} cannot be read: ${(err as Error).name}: ${(err as Error).message}`);
  }
  progress.bytesTotal = object.size;
  const { opening, first, body } = await peek(progress.track(object.body, where));
  const format = source.format ?? declaredFormat(source.key, object.contentType) ?? sniffFormat(opening);
  try {
    if (format === 'jsonl') yield* jsonLines(body, where);
    else if (format === 'json') yield* jsonDocument(body, first, where);
    else yield* csvRows(body, where);
  } finally {
    // However the reading ended (a bad list, a cancelled build), the S3 connection is given back.
    body.destroy();
    object.body.destroy();
  }
}
