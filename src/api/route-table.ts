import type { Router } from 'express';
import { ROUTE_SPEC, type RouteSpec } from './route-spec.js';

export interface RegisteredRoute {
  method: string;
  /** Express path, relative to the router: `/campaigns/:id/pause`. */
  path: string;
  /** Undefined when the route forgot to declare one: the route table test fails on it. */
  spec?: RouteSpec;
}

interface Layer {
  route?: { path: string; methods: Record<string, boolean>; stack: { handle: unknown }[] };
  handle: unknown;
  rawPath?: unknown;
  slash?: boolean;
}

/** Every route registered on `router` and the routers mounted in it, read from Express itself. */
export function registeredRoutes(router: Router, prefix = ''): RegisteredRoute[] {
  const out: RegisteredRoute[] = [];
  for (const layer of (router as unknown as { stack: Layer[] }).stack) {
    if (layer.route) {
      const spec = layer.route.stack
        .map((l) => (l.handle as { [ROUTE_SPEC]?: RouteSpec })[ROUTE_SPEC])
        .find((s) => s !== undefined);
      for (const [method, on] of Object.entries(layer.route.methods)) {
        if (on && method !== '_all') out.push({ method: method.toUpperCase(), path: prefix + layer.route.path, spec });
      }
      continue;
    }
    const sub = layer.handle as { stack?: unknown };
    if (Array.isArray(sub.stack)) {
      const mount = layer.slash || layer.rawPath === undefined ? '' : String(layer.rawPath);
      out.push(...registeredRoutes(layer.handle as Router, prefix + mount));
    }
  }
  return out;
}
