import type { ApiResponse } from './harness.js';

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
