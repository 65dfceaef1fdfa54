// The Dockerfile's final stage read as Docker reads it: its ENV, ENTRYPOINT and HEALTHCHECK (exec
// form). The benchmarks run their workers with the image's memory settings; the deployment tests
// run the image's commands as native processes (test/helpers/compose.ts).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const DOCKERFILE = fileURLToPath(new URL('../Dockerfile', import.meta.url));

export interface ImageStage {
  env: Record<string, string>;
  entrypoint: string[];
  healthcheck: string[];
  text: string;
}

export function readDockerfile(path = DOCKERFILE): ImageStage {
  const text = readFileSync(path, 'utf8');
  const stages = text.replace(/\\\n\s*/g, ' ').split(/^FROM /m);
  const last = stages[stages.length - 1]!;
  const env: Record<string, string> = {};
  for (const m of last.matchAll(/^ENV (.+)$/gm)) {
    for (const pair of m[1]!.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=(\S+)/g)) env[pair[1]!] = pair[2]!;
  }
  const entry = /^ENTRYPOINT (\[.*\])$/m.exec(last);
  if (!entry) throw new Error('the Dockerfile has no ENTRYPOINT in exec form');
  const health = /^HEALTHCHECK .*?CMD (\[.*\])$/m.exec(last);
  if (!health) throw new Error('the Dockerfile has no HEALTHCHECK in exec form');
  return { env, entrypoint: JSON.parse(entry[1]!) as string[], healthcheck: JSON.parse(health[1]!) as string[], text };
}

/** What the image sets for a process's memory (the allocator's arenas and mmap threshold, V8's young generation). */
export const MEMORY_SETTINGS = ['MALLOC_ARENA_MAX', 'MALLOC_MMAP_THRESHOLD_', 'NODE_OPTIONS'] as const;

export function imageMemorySettings(stage = readDockerfile()): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of MEMORY_SETTINGS) if (stage.env[name] !== undefined) out[name] = stage.env[name];
  return out;
}

/**
 * The memory settings the benchmarks' workers run with: the image's, each unless the bench's own
 * environment sets it (`MALLOC_ARENA_MAX= MALLOC_MMAP_THRESHOLD_= NODE_OPTIONS= npm run bench` measures without them).
 */
export function benchMemorySettings(environment: NodeJS.ProcessEnv = process.env, image = imageMemorySettings()): Record<string, string> {
  const out = { ...image };
  for (const name of MEMORY_SETTINGS) {
    const given = environment[name];
    if (given === undefined) continue;
    if (given === '') delete out[name];
    else out[name] = given;
  }
  return out;
}

/** The node flags of the image's ENTRYPOINT (`node --flag … dist/cli.js`): those before the script. */
export function imageNodeFlags(stage = readDockerfile()): string[] {
  const [program, ...args] = stage.entrypoint;
  if (program !== 'node') return [];
  const script = args.findIndex((a) => !a.startsWith('-'));
  return script < 0 ? args : args.slice(0, script);
}

/**
 * The node flags the benchmarks' workers run with: the image's, unless BENCH_NODE_FLAGS is set
 * (`BENCH_NODE_FLAGS= npm run bench` measures without them, `BENCH_NODE_FLAGS="--a --b"` with those).
 */
export function benchNodeFlags(environment: NodeJS.ProcessEnv = process.env, image = imageNodeFlags()): { flags: string[]; text: string } {
  const given = environment.BENCH_NODE_FLAGS;
  if (given === undefined) return { flags: image, text: `${image.length ? image.join(' ') : 'none'} (the image's)` };
  const flags = given.split(/\s+/).filter(Boolean);
  return { flags, text: `${flags.length ? flags.join(' ') : 'none'} (BENCH_NODE_FLAGS)` };
}

/** `MALLOC_ARENA_MAX=2 NODE_OPTIONS=… (the image's)`, or `none`. */
export function settingsText(settings: Record<string, string>, image = imageMemorySettings()): string {
  const pairs = Object.entries(settings).map(([k, v]) => `${k}=${v}`);
  const same = JSON.stringify(settings) === JSON.stringify(image);
  return `${pairs.length ? pairs.join(' ') : 'none'} (${same ? "the image's" : "not the image's: set in the bench's environment"})`;
}
