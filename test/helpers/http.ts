import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import type { Express } from 'express';
import type { ApiResponse } from './harness.js';

/** Serves `app` on a free loopback port: its base URL, and how to stop serving. */
export async function listenLocally(app: Express): Promise<{ baseUrl: string; close(): Promise<void> }> {
  const server: Server = await new Promise((ok) => {
    const s = app.listen(0, '127.0.0.1', () => ok(s));
  });
  return {
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

/**
 * A JSON client of an API at `baseUrl` under `key`: a body is sent as JSON (a string as it is,
 * unless a content-type is given), and an answer is parsed as JSON where it is JSON.
 */
export function apiClient(baseUrl: string, key: string) {
  return async <T = any>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiResponse<T>> => {
    const typed = Object.keys(headers).some((k) => k.toLowerCase() === 'content-type');
    const res = await fetch(`${baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body !== undefined && !typed ? { 'content-type': 'application/json' } : {}), ...headers },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON: keep the text
    }
    return { status: res.status, body: parsed as T, headers: res.headers };
  };
}

/** The paths of a 422 answer's problems. */
export const problemPaths = (body: { problems?: { path: string }[] }) => (body.problems ?? []).map((p) => p.path);
