import { createInterface } from 'node:readline';
import { PassThrough, Readable } from 'node:stream';
import { parse } from 'csv-parse';
import chain from 'stream-chain';
import { parser as jsonParser } from 'stream-json';
import { pick } from 'stream-json/filters/pick.js';
import { streamArray } from 'stream-json/streamers/stream-array.js';
import type { ListFormat } from '../contract/campaign.js';
import type { RecipientSource } from '../db/campaigns.js';
import type { S3Store } from '../s3/client.js';

/** A campaign-level problem with the list as a whole: the build ends with this reason. */
export class SourceError extends Error {
  override name = 'SourceError';
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
  const parser = input.pipe(parse({ columns: (header: string[]) => header.map((h) => h.trim()), bom: true, skip_empty_lines: true, trim: true }));
  let first = true;
  try {
    for await (const row of parser as AsyncIterable<Record<string, string>>) {
      if (first && !('email' in row)) throw new SourceError(`${where} has no "email" column in its header row`);
      first = false;
      yield fromCsvRow(row);
    }
  } catch (err) {
    if (err instanceof SourceError) throw err;
    throw new SourceError(`${where} is not valid CSV: ${(err as Error).message}`);
  }
}

/** JSON Lines: one recipient object per line, streamed like the CSV. */
async function* jsonLines(input: Readable, where: string): AsyncGenerator<unknown> {
  let n = 0;
  for await (const line of createInterface({ input, crlfDelay: Infinity })) {
    n++;
    if (line.trim() === '') continue;
    try {
      yield JSON.parse(line);
    } catch {
      throw new SourceError(`${where} line ${n} is not a JSON object`);
    }
  }
}

/**
 * A JSON document: an array of recipients, or an object whose `recipients` array holds them
 * (other keys are ignored). Streamed: one element is assembled at a time, never the document.
 */
async function* jsonDocument(input: Readable, first: string | undefined, where: string): AsyncGenerator<unknown> {
  if (first !== '[' && first !== '{') {
    throw new SourceError(`${where} is not a JSON array or object of recipients`);
  }
  const stages: unknown[] = [input, jsonParser()];
  if (first === '{') stages.push(pick({ filter: 'recipients', once: true }));
  stages.push(streamArray());
  const elements = chain(stages as Parameters<typeof chain>[0]);
  let n = 0;
  try {
    for await (const { value } of elements as AsyncIterable<{ key: number; value: unknown }>) {
      n++;
      yield value;
    }
  } catch (err) {
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

/** How much of a source has been read; `fraction` is unknown while the source's size is. */
export class SourceProgress {
  bytesRead = 0;
  bytesTotal?: number;
  get fraction(): number | undefined {
    return this.bytesTotal ? Math.min(1, this.bytesRead / this.bytesTotal) : undefined;
  }
  /** Counts the bytes of `input` as they are consumed. */
  track(input: Readable): Readable {
    const counted = new PassThrough();
    counted.on('data', (chunk: Buffer) => (this.bytesRead += chunk.length));
    input.on('error', (err) => counted.destroy(err));
    return input.pipe(counted);
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
  source: RecipientSource,
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
    yield* csvRows(progress.track(Readable.from(pieces(source.text))), 'recipientsCsv');
    return;
  }
  const where = `s3://${source.bucket}/${source.key}`;
  let object: { body: Readable; contentType?: string; size?: number };
  try {
    object = await s3.stream(source.bucket, source.key);
  } catch (err) {
    throw new SourceError(`the recipient list ${where} cannot be read: ${(err as Error).name}: ${(err as Error).message}`);
  }
  progress.bytesTotal = object.size;
  const { opening, first, body } = await peek(progress.track(object.body));
  const format = source.format ?? declaredFormat(source.key, object.contentType) ?? sniffFormat(opening);
  if (format === 'jsonl') yield* jsonLines(body, where);
  else if (format === 'json') yield* jsonDocument(body, first, where);
  else yield* csvRows(body, where);
}
