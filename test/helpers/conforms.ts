import assert from 'node:assert/strict';
import { z } from 'zod';

/**
 * Asserts that an answer matches its declared response schema: it parses, and it has no field the
 * schema (and so the OpenAPI document) does not list, at the top level or in `items`.
 */
export function assertConforms(schema: z.ZodType, body: unknown, what = 'answer'): void {
  const parsed = schema.safeParse(body);
  assert.ok(parsed.success, `${what} does not match its schema: ${JSON.stringify(parsed.error?.issues)}`);
  undocumented(schema, body, what);
}

function undocumented(schema: z.ZodType, body: unknown, where: string): void {
  if (!(schema instanceof z.ZodObject) || !body || typeof body !== 'object') return;
  const shape = schema.shape as Record<string, z.ZodType>;
  for (const key of Object.keys(body)) {
    assert.ok(key in shape, `${where}.${key} is not in the response schema`);
    const inner = shape[key]!;
    const value = (body as Record<string, unknown>)[key];
    if (inner instanceof z.ZodArray && Array.isArray(value)) {
      for (const item of value) undocumented(inner.element as z.ZodType, item, `${where}.${key}[]`);
    } else {
      undocumented(unwrap(inner), value, `${where}.${key}`);
    }
  }
}

const unwrap = (s: z.ZodType): z.ZodType => (s instanceof z.ZodOptional || s instanceof z.ZodNullable ? unwrap(s.unwrap() as z.ZodType) : s);
