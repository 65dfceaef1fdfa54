import type { PilotSpec } from '../contract/campaign.js';

/** How many recipients the pilot batch takes out of `sendable`: its size, or its share (at least 1). */
function pilotSize(spec: Pick<PilotSpec, 'size' | 'share'>, sendable: number): number {
  const wanted = spec.size ?? Math.max(1, Math.ceil((spec.share ?? 0) * sendable));
  return Math.min(wanted, sendable);
}

/** mulberry32: a small seeded generator, so the same seed always picks the same sample. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The pilot batch out of the sendable ids (in list order): the first ones, or a random sample
 * drawn with the campaign's seed. Returned in list order.
 */
export function pickPilot(ids: readonly number[], spec: PilotSpec): number[] {
  const n = pilotSize(spec, ids.length);
  if (spec.sample !== 'random') return ids.slice(0, n);
  const pool = [...ids];
  const next = seeded(spec.seed ?? 0);
  // A partial Fisher–Yates shuffle: the first n places hold a uniform sample.
  for (let i = 0; i < n; i++) {
    const j = i + Math.floor(next() * (pool.length - i));
    [pool[i], pool[j]] = [pool[j]!, pool[i]!];
  }
  return pool.slice(0, n).sort((a, b) => a - b);
}
