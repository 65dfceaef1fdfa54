import { z } from 'zod';

// What every value entering the API must be, whichever route it reaches: text PostgreSQL can
// store, numbers its columns can hold, and nesting the request hashing and the templates can walk.

/** No NUL (PostgreSQL text cannot hold it) and no unpaired UTF-16 surrogate (not valid UTF-8). */
const SAFE_TEXT = /^[^\u0000\uD800-\uDFFF]*$/u;
const SAFE_TEXT_MESSAGE = 'must not contain NUL characters or unpaired UTF-16 surrogates';

/**
 * A whole request body (or query, or path) may nest this deep; `vars` has its own, lower bound.
 * Checked before anything else walks the value recursively.
 */
const MAX_INPUT_DEPTH = 32;
/** Containers (objects, arrays) inside `vars`: `{ "a": { "b": [1] } }` is 2 deep. */
export const MAX_VARS_DEPTH = 8;

/** Largest values of PostgreSQL's integer and of a JavaScript-safe bigint. */
export const INT4_MAX = 2_147_483_647;
export const SAFE_BIGINT_MAX = Number.MAX_SAFE_INTEGER;

export interface InputProblem {
  path: string;
  message: string;
}

/**
 * Every string (value or key) that is not safe text, and every place nested deeper than
 * `maxDepth`, in `value`: walked with an explicit stack, so no input can overflow the call stack.
 */
export function unsafeInput(value: unknown, maxDepth = MAX_INPUT_DEPTH, limit = 20): InputProblem[] {
  const problems: InputProblem[] = [];
  const stack: { v: unknown; path: (string | number)[]; depth: number }[] = [{ v: value, path: [], depth: 0 }];
  const name = (path: (string | number)[]) => path.map(String).join('.') || '(body)';
  while (stack.length > 0 && problems.length < limit) {
    const { v, path, depth } = stack.pop()!;
    if (typeof v === 'string') {
      if (!SAFE_TEXT.test(v)) problems.push({ path: name(path), message: SAFE_TEXT_MESSAGE });
      continue;
    }
    if (!v || typeof v !== 'object') continue;
    if (depth >= maxDepth) {
      problems.push({ path: name(path), message: `is nested more than ${maxDepth} levels deep` });
      continue;
    }
    for (const [k, inner] of Object.entries(v)) {
      if (!Array.isArray(v) && !SAFE_TEXT.test(k)) {
        problems.push({ path: name([...path, k]), message: `has a field name that ${SAFE_TEXT_MESSAGE}` });
        continue;
      }
      stack.push({ v: inner, path: [...path, Array.isArray(v) ? Number(k) : k], depth: depth + 1 });
    }
  }
  return problems;
}

/**
 * A whole number in a query string: only plain digits are numbers (`1e3`, `0x10`, ` 5` and ``
 * are not), within the range the column it is compared with can hold.
 */
export function queryInt(o: { min: number; max: number; default: number }): z.ZodType<number, unknown>;
export function queryInt(o: { min: number; max: number }): z.ZodType<number | undefined, unknown>;
export function queryInt(o: { min: number; max: number; default?: number }): z.ZodType<number | undefined, unknown> {
  const digits = z.preprocess(
    (v) => (typeof v === 'string' && /^\d{1,16}$/.test(v) ? Number(v) : v),
    z
      .number({ error: 'must be a whole number' })
      .int('must be a whole number')
      .min(o.min, `must be at least ${o.min}`)
      .max(o.max, `must be at most ${o.max}`),
  );
  return o.default === undefined ? digits.optional() : digits.default(o.default);
}

/** The no-NUL rule as the document states it: JSON Schema validators work on Unicode scalar values, where a lone surrogate cannot occur. */
export const DOC_SAFE_TEXT = '^[^\\u0000]*$';
