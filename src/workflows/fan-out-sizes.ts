/**
 * The sizes of a campaign's fan-out: how many delivery children run at once (the window, which
 * refills as they finish) and how many a run starts before it continues as new. A campaign's input
 * may name smaller ones (tests, operators); the API never sets them, and a run without them (every
 * history recorded before they existed) uses the defaults, the sizes the fan-out always had.
 * Pure: the workflow reads its sizes here, and the unit tests check the bounds without a server.
 */

/** Delivery children at once by default, and at most. */
const DEFAULT_WINDOW = 100;
/**
 * Starts per run by default, and at most: a run continues as new well before Temporal's limits
 * (2,000 pending children, 51,200 events).
 */
const DEFAULT_STARTS_PER_RUN = 1000;

export interface FanOutSizes {
  window: number;
  startsPerRun: number;
}

/**
 * The sizes a run uses for the ones its input names: whole numbers, the window 1 to 100 and the
 * starts per run from the window to 1,000; a missing or unreadable one is the default. Clamping the
 * clamped sizes changes nothing, so every run of a continue-as-new chain uses the same sizes.
 */
export function fanOutSizes(input: { fanOutWindow?: unknown; startsPerRun?: unknown }): FanOutSizes {
  const window = bounded(input.fanOutWindow, DEFAULT_WINDOW, 1, DEFAULT_WINDOW);
  const startsPerRun = bounded(input.startsPerRun, DEFAULT_STARTS_PER_RUN, window, DEFAULT_STARTS_PER_RUN);
  return { window, startsPerRun };
}

function bounded(value: unknown, fallback: number, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) return fallback;
  return Math.min(max, Math.max(min, Math.floor(value)));
}
