import type { RequestHandler } from 'express';
import type { z } from 'zod';
import { ApiError } from './errors.js';

export const SCOPES = ['campaigns:write', 'campaigns:read', 'campaigns:review', 'accounts:admin', 'keys:admin'] as const;
export type Scope = (typeof SCOPES)[number];

/** Who is calling: set by the authentication middleware on `res.locals.auth`. */
export interface Caller {
  tenant: string;
  /** What actions are recorded under: `admin` for the configured key, `key:<name>` for a stored key. */
  principal: string;
  /** The person the key acts for: four eyes compares people, not keys (`admin` for the configured key). */
  person: string;
  scopes: ReadonlySet<Scope>;
  keyId?: string;
  /** The configured API_KEY: may create keys for other tenants. */
  bootstrap: boolean;
}

/** What a route declares about itself: its scope, and what the OpenAPI document says of it. */
export interface RouteSpec {
  scope: Scope;
  summary: string;
  body?: z.ZodType;
  query?: z.ZodType;
  /** The JSON answer on success, and its status code (200 unless said). */
  response?: z.ZodType;
  status?: number;
  /** Answers that are not JSON (report.csv). */
  produces?: string;
}

export const ROUTE_SPEC = Symbol('routeSpec');
export type SpecHandler = RequestHandler & { [ROUTE_SPEC]: RouteSpec };

/**
 * The first handler of every /api/v1 route: declares its scope (and its OpenAPI description) and
 * refuses a caller without that scope. A route without one fails the route table test.
 */
export function route(spec: RouteSpec): SpecHandler {
  const handler: RequestHandler = (_req, res, next) => {
    const caller = res.locals.auth as Caller | undefined;
    if (!caller) throw new ApiError(401, 'missing API key: send Authorization: Bearer <key>');
    if (!caller.scopes.has(spec.scope)) {
      throw new ApiError(403, `this API key lacks the scope ${spec.scope}`, { scope: spec.scope });
    }
    next();
  };
  return Object.assign(handler, { [ROUTE_SPEC]: spec });
}

export function callerOf(res: { locals: Record<string, unknown> }): Caller {
  const caller = res.locals.auth as Caller | undefined;
  if (!caller) throw new ApiError(401, 'missing API key: send Authorization: Bearer <key>');
  return caller;
}
