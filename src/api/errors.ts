import type { ErrorRequestHandler } from 'express';
import { z } from 'zod';
import { Refusal, type RefusalKind } from '../contract/refusal.js';
import type { Logger } from '../logger.js';

export interface Problem {
  path: string;
  message: string;
}

/** The one error type routes throw; the error middleware turns it into a JSON answer. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly body: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

export const notFound = (what: string) => new ApiError(404, `${what} not found`);

/** The one mapping of the domain's refusals to HTTP. */
const REFUSAL_STATUS: Record<RefusalKind, number> = { invalid: 422, forbidden: 403, not_found: 404, conflict: 409, throttled: 429, upstream: 502, unavailable: 503 };

function problemsOf(err: z.ZodError): Problem[] {
  return err.issues.map((issue) => ({ path: issue.path.map(String).join('.') || '(body)', message: describe(issue) }));
}

/**
 * Zod leaves `input` out of its issues unless a parse asks for it (`reportInput`, which
 * route-spec.ts does), so `input === undefined` alone cannot tell a missing field from one of the
 * wrong type. Only the value's kind is named here, never the value: it may be a password.
 */
function describe(issue: z.core.$ZodIssue): string {
  const zodsOwn = issue.message.startsWith('Invalid input') || issue.message.startsWith('Invalid option');
  if (issue.code === 'invalid_type') {
    if (issue.input === undefined) return 'is required';
    // Zod's own wording, or a schema's "is required[: what]" or "is required and must be what",
    // meant for the absent case: say what was given.
    const meant = /^is required(?:: (.+)| and must be (.+))?$/.exec(issue.message);
    if (meant || zodsOwn) return `must be ${meant?.[1] ?? meant?.[2] ?? kindName(issue.expected)}, not ${kindName(kindOf(issue.input))}`;
  }
  // An enum or a literal: the values it takes, as JSON writes them.
  if (issue.code === 'invalid_value' && zodsOwn) {
    const values = issue.values.map((v) => JSON.stringify(v));
    return values.length === 1 ? `must be ${values[0]}` : `must be one of ${values.join(', ')}`;
  }
  // A union of plain kinds (a string or a number): name them, and what was given.
  if (issue.code === 'invalid_union' && zodsOwn && issue.input !== undefined) {
    const kinds = issue.errors.map((e) => (e.length === 1 && e[0]?.code === 'invalid_type' && e[0].path.length === 0 ? kindName(e[0].expected) : undefined));
    if (kinds.every((k) => k !== undefined)) return `must be ${kinds.join(' or ')}, not ${kindName(kindOf(issue.input))}`;
  }
  if (issue.code === 'unrecognized_keys') return `unknown field(s): ${issue.keys.join(', ')}`;
  // A bound without a message of its own: zod's "Too big: expected string to have <=2000 characters".
  if ((issue.code === 'too_big' || issue.code === 'too_small') && /^Too (big|small)\b/.test(issue.message)) return boundText(issue);
  return issue.message;
}

/** A size or range bound as the API says it: "must be at most 5", "must have at least 1 item". */
function boundText(issue: z.core.$ZodIssueTooBig | z.core.$ZodIssueTooSmall): string {
  const big = issue.code === 'too_big';
  const bound = big ? (issue as z.core.$ZodIssueTooBig).maximum : (issue as z.core.$ZodIssueTooSmall).minimum;
  const inclusive = issue.inclusive !== false;
  const word = big ? (inclusive ? 'at most' : 'less than') : inclusive ? 'at least' : 'more than';
  const unit = { string: 'character', array: 'item', set: 'item', file: 'byte' }[issue.origin as string];
  if (!unit) return `must be ${word} ${String(bound)}`;
  return `must have ${word} ${String(bound)} ${unit}${Number(bound) === 1 ? '' : 's'}`;
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

/** A JSON kind as a client reads it: a JSON array is "a list", as the API's texts call it. */
function kindName(kind: string): string {
  if (kind === 'null') return 'null';
  if (kind === 'array') return 'a list';
  if (kind === 'int') return 'a whole number';
  if (kind === 'record') return 'an object';
  return /^[aeiou]/.test(kind) ? `an ${kind}` : `a ${kind}`;
}

/** The JSON value of a body express.json refused for its kind, or undefined when it is not JSON. */
function parsedScalar(raw: unknown): { value: unknown } | undefined {
  if (typeof raw !== 'string') return undefined;
  try {
    return { value: JSON.parse(raw) as unknown };
  } catch {
    return undefined;
  }
}

export function errorMiddleware(logger: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    if (err instanceof ApiError) {
      res.status(err.status).json({ error: err.message, ...err.body });
      return;
    }
    if (err instanceof Refusal) {
      if (err.retryAfterSeconds !== undefined) res.set('Retry-After', String(err.retryAfterSeconds));
      res.status(REFUSAL_STATUS[err.kind]).json({ error: err.message, ...err.details });
      return;
    }
    if (err instanceof z.ZodError) {
      res.status(422).json({ error: 'the request is not valid', problems: problemsOf(err) });
      return;
    }
    // body-parser's own errors carry a status and a type.
    const e = err as { status?: number; type?: string; message?: string };
    if (e.type === 'entity.parse.failed') {
      // express.json takes only an object or a list; other JSON (`null`, `5`, `"text"`) is valid
      // JSON of the wrong kind, named as a list is by the schema, never called "not JSON".
      const given = parsedScalar((err as { body?: unknown }).body);
      if (given !== undefined) {
        res.status(422).json({ error: 'the request is not valid', problems: [{ path: '(body)', message: `must be an object, not ${kindName(kindOf(given.value))}` }] });
        return;
      }
      res.status(400).json({ error: 'the request body is not valid JSON' });
      return;
    }
    if (e.type === 'entity.too.large') {
      res.status(413).json({ error: 'the request body is too large' });
      return;
    }
    if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
      res.status(e.status).json({ error: e.message ?? 'bad request' });
      return;
    }
    if (databaseUnavailable(err)) {
      logger.warn({ code: (err as { code?: string }).code, method: req.method, path: req.path }, 'database unavailable');
      res.status(503).set('Retry-After', '5').json({ error: 'the database is unavailable; try again shortly' });
      return;
    }
    logger.error({ err, method: req.method, path: req.path }, 'unhandled error');
    res.status(500).json({ error: 'internal error' });
  };
}

/** Codes of the `postgres` client and PostgreSQL itself that mean "the database is away", not "the request is wrong". */
const DB_CLIENT_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'CONNECTION_ENDED', 'CONNECTION_DESTROYED', 'CONNECTION_CLOSED', 'CONNECT_TIMEOUT']);

/** True for a lost or refused PostgreSQL connection (a restart, an outage), answered 503. */
function databaseUnavailable(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return false;
  // 57P01-03: the server is shutting down or starting; 08xxx: connection exceptions; 53300: too many connections.
  return DB_CLIENT_CODES.has(code) || /^(57P0[1-3]|08...|53300)$/.test(code);
}
