import { z } from 'zod';
import { varsSchema } from '../contract/campaign.js';
import { DOC_SAFE_TEXT, MAX_VARS_DEPTH } from '../contract/input.js';
import type { RegisteredRoute } from './route-table.js';

const problemSchema = {
  type: 'object',
  properties: {
    error: { type: 'string' },
    problems: {
      type: 'array',
      items: { type: 'object', properties: { path: { type: 'string' }, message: { type: 'string' } }, required: ['path', 'message'] },
    },
  },
  required: ['error'],
};
const errorSchema = { type: 'object', properties: { error: { type: 'string' }, status: { type: 'string' } }, required: ['error'] };

const SAFE = DOC_SAFE_TEXT;
const VAR_VALUE = (level: number) => `#/components/schemas/VarValue${level}`;

/**
 * Template variables as JSON Schema: one component per nesting level, the last holding no
 * containers, so the document bounds the depth as the API does without a schema per path.
 */
function varValueSchemas(): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (let level = 1; level <= MAX_VARS_DEPTH + 1; level++) {
    const leaves = [{ type: 'string', pattern: SAFE }, { type: 'number' }, { type: 'boolean' }, { type: 'null' }];
    const next = { $ref: VAR_VALUE(level + 1) };
    const containers =
      level <= MAX_VARS_DEPTH
        ? [
            { type: 'array', items: next },
            { type: 'object', propertyNames: { type: 'string', pattern: SAFE }, additionalProperties: next },
          ]
        : [];
    out[`VarValue${level}`] = { anyOf: [...leaves, ...containers] };
  }
  return out;
}

/**
 * Refinements have no JSON Schema form of their own; where the API refuses what the input shape
 * allows, the schemas carry a pattern for it (`.meta`), and here every input string and field
 * name gets the rule every string entering the API obeys (no NUL; a lone surrogate cannot occur in
 * the Unicode text JSON Schema validators work on), and `vars` its depth.
 */
const jsonSchema = (schema: z.ZodType, io: 'input' | 'output' = 'input') =>
  z.toJSONSchema(schema, {
    io,
    unrepresentable: 'any',
    target: 'draft-2020-12',
    override: (ctx) => {
      if (io !== 'input') return;
      const js = ctx.jsonSchema as Record<string, unknown>;
      if (ctx.zodSchema === varsSchema) {
        for (const k of Object.keys(js)) delete js[k];
        Object.assign(js, { type: 'object', propertyNames: { type: 'string', pattern: SAFE }, additionalProperties: { $ref: VAR_VALUE(1) } });
        return;
      }
      if (js.type === 'string' && js.enum === undefined && js.const === undefined && js.format === undefined) safeText(js);
      if (js.type === 'object' && js.propertyNames === undefined) js.propertyNames = { type: 'string', pattern: SAFE };
    },
  }) as Record<string, unknown>;

function safeText(js: Record<string, unknown>) {
  if (js.pattern === undefined) js.pattern = SAFE;
  else js.allOf = [...((js.allOf as unknown[] | undefined) ?? []), { pattern: SAFE }];
}

/** What every route may answer besides its own success. */
function commonResponses(spec: RegisteredRoute['spec']) {
  const json = (schema: unknown) => ({ content: { 'application/json': { schema } } });
  const out: Record<string, unknown> = {
    '401': { description: 'No key or an invalid key', ...json(errorSchema) },
    '403': { description: `The key lacks the scope ${spec?.scope}`, ...json(errorSchema) },
    '404': { description: 'Not found, or another tenant’s', ...json(errorSchema) },
    '409': { description: 'Not allowed in the current state; `status` is the current one', ...json(errorSchema) },
    '422': { description: 'Invalid input: one problem per field', ...json(problemSchema) },
    '429': { description: 'Too many requests for this key: wait for the time in Retry-After', ...json(errorSchema) },
    '503': { description: 'PostgreSQL or Temporal is unreachable for now: retry after the time in Retry-After', ...json(errorSchema) },
  };
  if (spec?.body) {
    out['400'] = { description: 'The body is not JSON', ...json(errorSchema) };
    out['413'] = { description: 'The body is too large', ...json(errorSchema) };
    out['415'] = { description: 'The body is not sent as UTF-8 JSON: another Content-Type, charset or encoding', ...json(errorSchema) };
  }
  for (const [status, description] of Object.entries(spec?.errors ?? {})) {
    out[status] = { description, ...json(errorSchema) };
  }
  return out;
}

/**
 * Links from a created resource to the operations on it: the path parameter (`{id}`, `{name}`,
 * `{email}`) is the answer's field of the same name. Stateful testers follow them.
 */
function linksFrom(created: string, routes: RegisteredRoute[], opId: (r: RegisteredRoute) => string) {
  const links: Record<string, unknown> = {};
  for (const r of routes) {
    const m = /^(.*)\/:([A-Za-z0-9_]+)(\/.*)?$/.exec(r.path);
    if (!m || m[1] !== created || (m[3] ?? '').includes(':')) continue;
    links[opId(r)] = { operationId: opId(r), parameters: { [m[2]!]: `$response.body#/${m[2]}` } };
  }
  return links;
}

/** OpenAPI 3.1 from the routes Express holds and the zod schemas they declare. */
export function openApiDocument(routes: RegisteredRoute[], o: { basePath: string; version: string }) {
  const paths: Record<string, Record<string, unknown>> = {};
  const pathOf = (r: RegisteredRoute) => o.basePath + r.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
  const opId = (r: RegisteredRoute) =>
    `${r.method.toLowerCase()}${pathOf(r).replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ? c.toUpperCase() : ''))}`;
  for (const r of routes) {
    const openApiPath = pathOf(r);
    const params = [...r.path.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => ({
      name: m[1],
      in: 'path',
      required: true,
      ...(r.spec?.params?.[m[1]!] ? { description: `names a ${r.spec.params[m[1]!]!.resource}: a value that names none of the caller's is a 404` } : {}),
      schema: { type: 'string', minLength: 1, pattern: SAFE },
    }));
    const spec = r.spec;
    const query = spec?.query ? jsonSchema(spec.query) : undefined;
    const queryParams = query
      ? Object.entries((query.properties ?? {}) as Record<string, unknown>).map(([name, schema]) => ({
          name,
          in: 'query',
          required: ((query.required ?? []) as string[]).includes(name),
          ...((schema as { deprecated?: boolean }).deprecated ? { deprecated: true } : {}),
          schema,
        }))
      : [];
    const operation: Record<string, unknown> = {
      summary: spec?.summary,
      operationId: opId(r),
      security: [{ bearer: [] }],
      'x-scope': spec?.scope,
      parameters: [...params, ...queryParams],
      responses: {
        [String(spec?.status ?? 200)]: {
          description: 'OK',
          ...(spec?.status === 204
            ? {}
            : { content: { [spec?.produces ?? 'application/json']: spec?.response ? { schema: jsonSchema(spec.response, 'output') } : {} } }),
          ...(r.method === 'POST' && spec?.status === 201 ? { links: linksFrom(r.path, routes, opId) } : {}),
        },
        ...Object.fromEntries(
          Object.entries(spec?.also ?? {}).map(([status, a]) => [status, { description: a.description, content: { 'application/json': { schema: jsonSchema(a.response, 'output') } } }]),
        ),
        ...commonResponses(spec),
      },
    };
    if (spec?.body) {
      // A body whose every field is optional may be left out: the route reads it as `{}`.
      operation.requestBody = { required: !spec.body.safeParse({}).success, content: { 'application/json': { schema: jsonSchema(spec.body) } } };
    }
    paths[openApiPath] = { ...paths[openApiPath], [r.method.toLowerCase()]: operation };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Campaign Mailer API', version: o.version },
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } }, schemas: varValueSchemas() },
    paths,
  };
}
