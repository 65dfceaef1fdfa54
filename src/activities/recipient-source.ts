import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { parse } from 'csv-parse';
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
 * The recipients of a source, one raw object at a time, never the whole list at once.
 * S3 objects ending in .jsonl/.ndjson are JSON Lines; anything else is CSV.
 */
export async function* readRecipientSource(source: RecipientSource, s3: S3Store): AsyncGenerator<unknown> {
  if (source.type === 'inline') {
    yield* source.recipients;
    return;
  }
  if (source.type === 'csv') {
    yield* csvRows(Readable.from([source.text]), 'recipientsCsv');
    return;
  }
  const where = `s3://${source.bucket}/${source.key}`;
  let body: Readable;
  try {
    body = await s3.stream(source.bucket, source.key);
  } catch (err) {
    throw new SourceError(`the recipient list ${where} cannot be read: ${(err as Error).name}: ${(err as Error).message}`);
  }
  yield* /\.(jsonl|ndjson)$/i.test(source.key) ? jsonLines(body, where) : csvRows(body, where);
}
