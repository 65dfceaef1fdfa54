import { z } from 'zod';
import type { RegisteredRoute } from './routes.js';

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

const jsonSchema = (schema: z.ZodType, io: 'input' | 'output' = 'input') =>
  // Refinements and transforms have no JSON Schema form: the document describes the input shape.
  z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' }) as Record<string, unknown>;

/** OpenAPI 3.1 from the routes Express holds and the zod schemas they declare. */
export function openApiDocument(routes: RegisteredRoute[], o: { basePath: string; version: string }) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const openApiPath = o.basePath + r.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
    const params = [...r.path.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => ({
      name: m[1],
      in: 'path',
      required: true,
      schema: { type: 'string' },
    }));
    const spec = r.spec;
    const query = spec?.query ? jsonSchema(spec.query) : undefined;
    const queryParams = query
      ? Object.entries((query.properties ?? {}) as Record<string, unknown>).map(([name, schema]) => ({
          name,
          in: 'query',
          required: ((query.required ?? []) as string[]).includes(name),
          schema,
        }))
      : [];
    const operation: Record<string, unknown> = {
      summary: spec?.summary,
      operationId: `${r.method.toLowerCase()}${openApiPath.replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ? c.toUpperCase() : ''))}`,
      security: [{ bearer: [] }],
      'x-scope': spec?.scope,
      parameters: [...params, ...queryParams],
      responses: {
        [String(spec?.status ?? 200)]: {
          description: 'OK',
          content: { [spec?.produces ?? 'application/json']: spec?.response ? { schema: jsonSchema(spec.response, 'output') } : {} },
        },
        '401': { description: 'No key or an invalid key', content: { 'application/json': { schema: errorSchema } } },
        '403': { description: `The key lacks the scope ${spec?.scope}`, content: { 'application/json': { schema: errorSchema } } },
        '404': { description: 'Not found, or another tenant’s', content: { 'application/json': { schema: errorSchema } } },
        '409': { description: 'Not allowed in the current state', content: { 'application/json': { schema: errorSchema } } },
        '422': { description: 'Invalid input: one problem per field', content: { 'application/json': { schema: problemSchema } } },
      },
    };
    if (spec?.body) {
      operation.requestBody = { required: true, content: { 'application/json': { schema: jsonSchema(spec.body) } } };
    }
    paths[openApiPath] = { ...paths[openApiPath], [r.method.toLowerCase()]: operation };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Campaign Mailer API', version: o.version },
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    paths,
  };
}
