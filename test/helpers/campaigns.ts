import assert from 'node:assert/strict';
import type { Harness } from './harness.js';
import { bearer, eventually } from './harness.js';

/** Headers that call the API with `key`; without one, the harness's admin key. */
const as = (key?: string) => (key ? bearer(key) : undefined);

/** A statement campaign to `n` recipients with per-recipient vars. */
export const campaignBody = (n: number, extra: Record<string, unknown> = {}) => ({
  name: `Statement run ${n}`,
  from: 'Acme Billing <billing@acme.test>',
  subject: 'Your statement, {{ name }}',
  text: 'Dear {{ name }},\nyour balance is {{ balance }} {{ currency }}.\nAccount: {{ email }}',
  html: '<p>Dear {{ name }},</p><p>Balance: <b>{{ balance }} {{ currency }}</b></p>',
  vars: { currency: 'EUR' },
  recipients: Array.from({ length: n }, (_, i) => ({
    email: `customer${i + 1}@example.com`,
    name: `Customer ${i + 1}`,
    vars: { balance: (i + 1) * 10 },
  })),
  ...extra,
});

export async function createCampaign(h: Harness, body: unknown, key?: string): Promise<string> {
  const res = await h.api('POST', '/api/v1/campaigns', body, as(key));
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body.id as string;
}

/** The campaign as `key` (default: the admin key) reads it, once it has `status`; a number is the timeout alone. */
export async function waitForStatus(h: Harness, id: string, status: string, o: number | { key?: string; timeoutMs?: number } = {}) {
  const { key, timeoutMs = 60_000 } = typeof o === 'number' ? { timeoutMs: o } : o;
  return eventually(
    async () => {
      const res = await h.api('GET', `/api/v1/campaigns/${id}`, undefined, as(key));
      return res.body.status === status ? res.body : undefined;
    },
    timeoutMs,
    `campaign ${id} to be ${status}`,
  );
}

export async function approve(h: Harness, id: string, key?: string): Promise<void> {
  await waitForStatus(h, id, 'awaiting_review', { key });
  const res = await h.api('POST', `/api/v1/campaigns/${id}/approve`, {}, as(key));
  assert.equal(res.status, 200, JSON.stringify(res.body));
}

export const messagesFor = (h: Harness, id: string) => h.sink.messages.filter((m) => m.messageId?.includes(id));

/** Asserts exactly one message per recipient at the sink: counted by Message-ID and in total. */
export function assertOncePerRecipient(h: Harness, id: string, n: number): void {
  const sent = messagesFor(h, id);
  const distinct = new Set(sent.map((m) => m.messageId));
  assert.equal(distinct.size, n, `distinct Message-IDs at the sink for ${id}`);
  assert.equal(sent.length, n, `messages at the sink for ${id} (duplicates: ${sent.length - distinct.size})`);
}

/** The addresses on the suppression list, as the admin key lists them. */
export const suppressedAddresses = async (h: Harness): Promise<string[]> =>
  (await h.api('GET', '/api/v1/suppressions')).body.items.map((s: { email: string }) => s.email);

/** How many messages the sink got for each To address that starts with `${tag}-`. */
export function sentCountsTo(h: Harness, tag: string): Map<string, number> {
  const got = new Map<string, number>();
  for (const m of h.sink.messages) for (const to of m.to) if (to.startsWith(`${tag}-`)) got.set(to, (got.get(to) ?? 0) + 1);
  return got;
}

/** The most messages in any window of `ms` milliseconds of sorted arrival times, windows starting at each arrival. */
export function busiestWindow(times: number[], ms: number): number {
  let best = 0;
  for (let i = 0, j = 0; i < times.length; i++) {
    while (times[j]! <= times[i]! - ms) j++;
    best = Math.max(best, i - j + 1);
  }
  return best;
}
