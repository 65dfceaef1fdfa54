import type { z } from 'zod';

/**
 * What is wrong with an answer against its declared schema, as it goes over the wire (dates as
 * strings, `undefined` fields gone): each zod problem, and each field the schema (and so the
 * OpenAPI document) does not list, at any depth. Empty when it conforms.
 */
export function responseProblems(schema: z.ZodType, body: unknown): string[] {
  const wire: unknown = body === undefined ? undefined : JSON.parse(JSON.stringify(body));
  const parsed = schema.safeParse(wire);
  if (!parsed.success) {
    return parsed.error.issues.map((i) => `${i.path.map(String).join('.') || '(answer)'}: ${i.message}`);
  }
  return undocumentedFields(wire, parsed.data, '');
}

/** Fields of `sent` that parsing dropped: zod objects strip what their shape does not name. */
function undocumentedFields(sent: unknown, kept: unknown, at: string): string[] {
  if (!sent || typeof sent !== 'object' || !kept || typeof kept !== 'object') return [];
  const out: string[] = [];
  for (const [key, value] of Object.entries(sent)) {
    const where = at ? `${at}.${key}` : key;
    if (!(key in kept)) out.push(`${where}: is not in the response schema`);
    else out.push(...undocumentedFields(value, (kept as Record<string, unknown>)[key], where));
  }
  return out;
}
