import assert from 'node:assert/strict';

/** A scrape of a `/metrics` page: its text, and the sum of a metric's samples matching some labels. */
export interface Scrape {
  text: string;
  value(name: string, labels?: Record<string, string>): number;
}

export async function scrapeMetrics(url: string): Promise<Scrape> {
  const res = await fetch(url);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  return {
    text,
    value(name, labels = {}) {
      const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
      let sum = 0;
      for (const line of text.split('\n')) {
        const m = /^([a-z_:]+)(?:\{(.*)\})? (\S+)$/.exec(line);
        if (!m || m[1] !== name) continue;
        const have = (m[2] ?? '').split(',');
        if (wanted.every((w) => have.includes(w))) sum += Number(m[3]);
      }
      return sum;
    },
  };
}

/**
 * Polls a value until it has held still for `steadyPolls` polls in a row at more than zero (or
 * `ms` passed); answers every value seen.
 */
export async function untilSteady(read: () => Promise<number>, { ms = 30_000, every = 200, steadyPolls = 10 } = {}): Promise<number[]> {
  const seen: number[] = [];
  for (const t = Date.now(); Date.now() - t < ms; ) {
    seen.push(await read());
    const last = seen.slice(-steadyPolls);
    if (last.length === steadyPolls && last[0]! > 0 && last.every((x) => x === last[0])) break;
    await new Promise((r) => setTimeout(r, every));
  }
  return seen;
}
