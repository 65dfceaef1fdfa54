import { parse } from 'csv-parse/sync';

/** How every recipient CSV is read, streamed by the build or checked here: a BOM dropped, blank lines skipped, cells trimmed. */
export const CSV_OPTIONS = { bom: true, skip_empty_lines: true, trim: true } as const;

/** The header row's names as the build keys its rows by them. */
export const csvColumns = (header: string[]) => header.map((h) => h.trim());

/** What is wrong with a recipient list's header row, from its names; undefined when nothing is. */
export function csvHeaderProblem(columns: readonly string[]): string | undefined {
  return columns.includes('email') ? undefined : 'has no "email" column in its header row';
}

/**
 * The header problem of a CSV text, found from its first record alone (a long list is not parsed
 * here; the build reads the rest): its CSV error, or a header without "email". Undefined when the
 * header is one the build reads, or there is no record at all (an empty list, which the build reports).
 */
export function csvTextHeaderProblem(text: string): string | undefined {
  let header: string[] | undefined;
  try {
    [header] = parse(text, { ...CSV_OPTIONS, to: 1 }) as string[][];
  } catch (err) {
    return `is not valid CSV: ${(err as Error).message}`;
  }
  return header ? csvHeaderProblem(csvColumns(header)) : undefined;
}
