// The console's only way to the server: the public REST API under /api/v1, with the key the
// person signed in with (kept in sessionStorage for this tab, never in a URL).

import type { z } from 'zod';
import type { accountListResponse, accountVerifyResponse } from '../../src/contract/accounts.js';
import type {
  auditListResponse,
  campaignCreatedResponse,
  campaignListResponse,
  campaignResponse,
  keyCreatedResponse,
  keyListResponse,
  meResponse,
  previewResponse,
  recipientDecisionResponse,
  recipientListResponse,
  reviewResponse,
  sentPerMinuteResponse,
  suppressionListResponse,
  testSendResponse,
} from '../../src/contract/responses.js';

// The answers' shapes come from the server's contract, as types only: nothing of it is bundled.
export type Me = z.infer<typeof meResponse>;
export type Campaign = z.infer<typeof campaignResponse>;
export type CampaignCounts = Campaign['counts'];
export type Pilot = NonNullable<Campaign['pilot']>;
export type CampaignList = z.infer<typeof campaignListResponse>;
export type CampaignCreated = z.infer<typeof campaignCreatedResponse>;
export type SentPerMinute = z.infer<typeof sentPerMinuteResponse>;
export type RecipientList = z.infer<typeof recipientListResponse>;
export type Review = z.infer<typeof reviewResponse>;
export type ReviewItem = Review['items'][number];
export type RecipientDecision = z.infer<typeof recipientDecisionResponse>;
export type MessagePreview = z.infer<typeof previewResponse>;
export type TestSendResult = z.infer<typeof testSendResponse>;
export type AuditList = z.infer<typeof auditListResponse>;
export type AccountList = z.infer<typeof accountListResponse>;
export type Account = AccountList['items'][number];
export type AccountVerify = z.infer<typeof accountVerifyResponse>;
export type KeyList = z.infer<typeof keyListResponse>;
export type KeyCreated = z.infer<typeof keyCreatedResponse>;
export type SuppressionList = z.infer<typeof suppressionListResponse>;

const KEY = 'campaign-mailer.api-key';

export const session = {
  get key(): string | null {
    return sessionStorage.getItem(KEY);
  },
  set(key: string) {
    sessionStorage.setItem(KEY, key);
  },
  clear() {
    sessionStorage.removeItem(KEY);
  },
};

interface Problem {
  path: string;
  message: string;
}

/** An API error, put in words for the place where the person acted. */
class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: { error?: string; problems?: Problem[]; status?: string; [k: string]: unknown },
  ) {
    super(describe(status, body));
  }
}

function describe(status: number, body: ApiError['body']): string {
  const error = typeof body.error === 'string' ? body.error : '';
  switch (status) {
    case 0:
      return 'The server cannot be reached. Check the connection and try again.';
    case 401:
      return `Your API key was not accepted (${error || 'unauthorised'}). Sign in again with a valid key.`;
    case 403:
      if (/four-eyes/i.test(error)) {
        // The rule guards approving and continuing after a pilot alike: the advice names neither.
        return `Refused by the four-eyes rule: ${error.replace(/^four-eyes rule:\s*/i, '')}. Another person's key must make this decision; you may still reject it.`;
      }
      return `Not allowed: ${error || 'this key lacks the permission for that'}.`;
    case 404:
      return `Not found: ${error || 'it does not exist or belongs to another tenant'}.`;
    case 409:
      return `Conflict: ${error}${body.status ? ` (current status: ${body.status})` : ''}.`;
    case 422: {
      const problems = (body.problems ?? []).map((p) => `${p.path}: ${p.message}`);
      return `Please correct: ${problems.length ? problems.join('; ') : error}.`;
    }
    case 503:
      return `The service is not available right now: ${error || 'try again'}.`;
    default:
      return `The server answered ${status}${error ? `: ${error}` : ''}.`;
  }
}

let onUnauthorised: () => void = () => undefined;
export function whenUnauthorised(fn: () => void) {
  onUnauthorised = fn;
}

async function request(method: string, path: string, body?: unknown, accept = 'application/json', extra: Record<string, string> = {}): Promise<Response> {
  const key = session.key;
  let res: Response;
  try {
    res = await fetch(`/api/v1${path}`, {
      method,
      headers: {
        accept,
        ...(key ? { authorization: `Bearer ${key}` } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...extra,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, { error: 'the server cannot be reached' });
  }
  if (!res.ok) {
    let parsed: ApiError['body'] = {};
    try {
      parsed = (await res.json()) as ApiError['body'];
    } catch {
      parsed = { error: res.statusText };
    }
    if (res.status === 401) onUnauthorised();
    throw new ApiError(res.status, parsed);
  }
  return res;
}

/** Calls the API; `T` is the contract's answer for that route (an answer nobody reads stays `unknown`). */
export async function api<T = unknown>(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<T> {
  const res = await request(method, path, body, 'application/json', headers);
  if (res.status === 204) return undefined as T;
  return (await res.json()) as T;
}

/**
 * A campaign action (pause, resume, cancel, continue, reject) with an Idempotency-Key: the same
 * key while the person repeats an action the server could not settle (a 503: no worker took it in
 * time; Temporal keeps it), so the repeat is the same action and never applied twice; a new key
 * once it was answered. A 202 (accepted, still being applied) comes back as `underWay`.
 */
export function campaignActions(campaignId: string) {
  const keys: Record<string, string> = {};
  return async (action: string, body: Record<string, unknown>): Promise<{ underWay?: string }> => {
    const key = (keys[action] ??= newKey());
    try {
      const answer = await api<{ status: string; pending?: string; message?: string }>('POST', `/campaigns/${campaignId}/${action}`, body, { 'idempotency-key': key });
      delete keys[action];
      return answer.pending ? { underWay: answer.message ?? `the ${action} is being applied` } : {};
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 503)) delete keys[action];
      throw err;
    }
  };
}

/** 128 random bits in hex (crypto.randomUUID exists only on https or localhost pages). */
function newKey(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Fetches a file through the API (with the key in a header) and hands it to the browser as a download. */
export async function download(path: string, filename: string, accept: string): Promise<void> {
  const res = await request('GET', path, undefined, accept);
  const blob = await res.blob();
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

export const qs = (o: Record<string, string | number | undefined | null>) => {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(o)) if (v !== undefined && v !== null && v !== '') p.set(k, String(v));
  const s = p.toString();
  return s ? `?${s}` : '';
};
