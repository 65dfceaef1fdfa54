import type { Request, RequestHandler, Response } from 'express';
import { z, ZodError } from 'zod';
import { unsafeInput } from '../contract/input.js';
import { ApiError, notFound } from './errors.js';
import { responseProblems } from './response-check.js';
import type { Caller, Scope } from './scopes.js';

/** A path parameter: the resource it names (its 404) and the schema of a value that can name one. */
export interface PathParam<T = unknown> {
  resource: string;
  schema: z.ZodType<T, string>;
}
type ParamSpec = Record<string, PathParam>;

/** What a route declares about itself: its scope, its input and answer, and its OpenAPI description. */
export interface RouteSpec<B extends z.ZodType | undefined = z.ZodType | undefined, Q extends z.ZodType | undefined = z.ZodType | undefined, P extends ParamSpec = ParamSpec> {
  scope: Scope;
  summary: string;
  /** One entry per `:name` of the route's path. */
  params?: P;
  query?: Q;
  body?: B;
  /** The JSON answer on success, and its status code (200 unless said). */
  response?: z.ZodType;
  status?: number;
  /** Answers that are not JSON (report.csv, a download). */
  produces?: string;
  /** Answers particular to this route besides the common ones (401, 403, 404, 409, 422), by status. */
  errors?: Record<number, string>;
  /** Other successful answers (a 202 for work still under way), by status, each with its own schema. */
  also?: Record<number, { description: string; response: z.ZodType }>;
}

type Parsed<S> = S extends z.ZodType ? z.output<S> : undefined;

type ParsedParams<P extends ParamSpec> = { [K in keyof P]: P[K] extends PathParam<infer T> ? T : never };

/** What a handler receives: the caller, its input parsed by the route's schemas, and what `load` found. */
export interface RouteInput<B, Q, P extends ParamSpec, L = undefined> {
  caller: Caller;
  params: ParsedParams<P>;
  query: Parsed<Q>;
  body: Parsed<B>;
  loaded: L;
}

/**
 * Finds what the path names (a campaign, a recipient) before the query and body are read: an
 * unknown or another tenant's resource is a 404 whatever else the request holds.
 */
export type Loader<P extends ParamSpec, L> = (input: { caller: Caller; params: ParsedParams<P> }) => Promise<L>;

export const ROUTE_SPEC = Symbol('routeSpec');
export type SpecHandler = RequestHandler & { [ROUTE_SPEC]: RouteSpec };

/** The app setting that turns the answer check on (createApp sets it; on outside production). */
export const CHECK_RESPONSES = 'check responses';

/**
 * Every /api/v1 route is one `route(spec, handler)`: it refuses a caller without the scope (403),
 * parses the path parameters (a value that cannot name the resource is its 404), runs `load`
 * (an unknown resource is its 404), parses the query and the body (a ZodError: 422 naming the
 * field, through the error middleware), and hands the handler typed values. Where the app checks answers, a success that does not match `response` is a 500
 * with a log line naming the field, so a test meets it at once.
 */
export function route<B extends z.ZodType | undefined = undefined, Q extends z.ZodType | undefined = undefined, P extends ParamSpec = Record<never, PathParam>, L = undefined>(
  spec: RouteSpec<B, Q, P> & { load?: Loader<P, L> },
  handler: (input: RouteInput<B, Q, P, L>, req: Request, res: Response) => unknown,
): SpecHandler {
  const querySchema = strictQuery(spec.query);
  const wrapped: RequestHandler = async (req, res) => {
    const caller = authorize(res, spec.scope);
    refuseUnsafeInput(req);
    const params = parseParams(spec.params ?? {}, req.params as Record<string, string>) as ParsedParams<P>;
    const loaded = (await spec.load?.({ caller, params })) as L;
    // reportInput: the error middleware tells a missing field from a wrong type by the input's
    // presence (it names only its kind, never the value).
    const query = parseQuery(querySchema, req.query, spec.query !== undefined) as Parsed<Q>;
    if (spec.body) refuseOtherMediaType(req);
    const body = spec.body?.parse(req.body ?? {}, { reportInput: true }) as Parsed<B>;
    if (spec.response && req.app.get(CHECK_RESPONSES) === true) checkAnswers(spec.response, req, res, spec.also);
    await handler({ caller, params, query, body, loaded }, req, res);
  };
  return Object.assign(wrapped, { [ROUTE_SPEC]: spec as RouteSpec });
}

function authorize(res: Response, scope: Scope): Caller {
  const caller = callerOf(res);
  if (!caller.scopes.has(scope)) throw new ApiError(403, `this API key lacks the scope ${scope}`, { scope });
  return caller;
}

/**
 * express.json() leaves a body of another Content-Type unread, so a JSON body sent without the
 * header (curl -d alone sends it as a form) would be parsed as `{}`: every field "is required",
 * of a body that holds them all. No body at all is fine: many routes' bodies are optional.
 */
function refuseOtherMediaType(req: Request) {
  const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
  if (hasBody && !req.is('application/json')) {
    throw new ApiError(415, 'the body must be JSON: send Content-Type: application/json');
  }
}

/** Before any schema or hash walks it: text PostgreSQL can store, nesting a stack can walk. */
function refuseUnsafeInput(req: Request) {
  const problems = [
    ...unsafeInput(req.params).map((p) => ({ ...p, path: `:${p.path}` })),
    ...unsafeInput(req.query),
    ...unsafeInput(req.body),
  ];
  if (problems.length > 0) throw new ApiError(422, 'the request is not valid', { problems });
}

/** The query of a route that declares none: any field is one it does not take. */
const NO_QUERY = z.object({}).strict();

/**
 * A field the route does not take is refused, never ignored: a caller's `?stauts=sent` would get
 * every row as if filtered. A route without a query takes no field, and an object schema is made
 * strict whatever it says (a paging schema is strict in `pageQuery`).
 */
function strictQuery(schema: z.ZodType | undefined): z.ZodType {
  if (!schema) return NO_QUERY;
  return schema instanceof z.ZodObject ? schema.strict() : schema;
}

/**
 * The query, parsed by its route's schema (undefined for a route that declares none). A problem of
 * the query as a whole (a field it does not take) is named `(query)`: the error middleware's
 * `(body)` would send the caller to the wrong place.
 */
function parseQuery(schema: z.ZodType, raw: unknown, declared: boolean): unknown {
  const parsed = schema.safeParse(raw, { reportInput: true });
  if (parsed.success) return declared ? parsed.data : undefined;
  throw new ZodError(parsed.error.issues.map((issue) => (issue.path.length > 0 ? issue : { ...issue, path: ['(query)'] })));
}

function parseParams(spec: ParamSpec, raw: Record<string, string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, p] of Object.entries(spec)) {
    const parsed = p.schema.safeParse(raw[name]);
    if (!parsed.success) throw notFound(p.resource);
    out[name] = parsed.data;
  }
  return out;
}

class ResponseContractError extends Error {}

/** Wraps `res.json`: a 2xx answer that does not match its schema throws instead of going out. */
function checkAnswers(schema: z.ZodType, req: Request, res: Response, also: RouteSpec['also'] = {}) {
  const json = res.json.bind(res);
  res.json = (body: unknown) => {
    if (res.statusCode < 300) {
      const problems = responseProblems(also[res.statusCode]?.response ?? schema, body);
      if (problems.length > 0) {
        throw new ResponseContractError(`the answer to ${req.method} ${req.baseUrl}${String(req.route?.path)} does not match its declared response schema: ${problems.join('; ')}`);
      }
    }
    return json(body);
  };
}

function callerOf(res: { locals: Record<string, unknown> }): Caller {
  const caller = res.locals.auth as Caller | undefined;
  if (!caller) throw new ApiError(401, 'missing API key: send Authorization: Bearer <key>');
  return caller;
}
