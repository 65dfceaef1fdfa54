// Figures a benchmark prints as a picture as well as numbers.

/**
 * A series of samples as ten figures: the largest sample in each tenth of the series (fewer than
 * ten samples: each sample once). Growth that keeps on reads differently from a plateau reached early.
 */
export function tenths(samples: number[]): number[] {
  if (samples.length <= 10) return [...samples];
  return Array.from({ length: 10 }, (_, i) => Math.max(...samples.slice(Math.floor((i * samples.length) / 10), Math.floor(((i + 1) * samples.length) / 10))));
}

/** A row of figures as a picture: one block per figure, from `low` (▁) to `high` (█); the row's own lowest and highest by default. */
export function sparkline(xs: number[], low = Math.min(...xs), high = Math.max(...xs)): string {
  const blocks = '▁▂▃▄▅▆▇█';
  const step = (x: number) => (high > low ? Math.round(((Math.min(Math.max(x, low), high) - low) / (high - low)) * (blocks.length - 1)) : 0);
  return xs.map((x) => blocks[step(x)]).join('');
}

/**
 * Which Temporal server a benchmark's figures are of. The dev server's Go garbage collector works
 * harder as its in-memory state grows with every workflow it keeps, so its GOGC (inherited from the
 * benchmark's environment) moves the floor and the product alike: it is printed with them.
 */
export function temporalText(env: NodeJS.ProcessEnv): string {
  if (env.TEMPORAL_ADDRESS) return `the server at ${env.TEMPORAL_ADDRESS} (TEMPORAL_ADDRESS)`;
  return `a dev server in memory, GOGC ${env.GOGC ? `${env.GOGC} (from the environment)` : "unset (Go's default, 100)"}`;
}
