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

/** What the image sets for a process's memory (the allocator's arenas, V8's young generation). */
const MEMORY_SETTINGS = ['MALLOC_ARENA_MAX', 'NODE_OPTIONS'] as const;

export function imageMemorySettings(stage = readDockerfile()): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of MEMORY_SETTINGS) if (stage.env[name] !== undefined) out[name] = stage.env[name];
  return out;
}

/** `MALLOC_ARENA_MAX=2 NODE_OPTIONS=…`, or `none` when the image sets none. */
export function settingsText(settings: Record<string, string>): string {
  const pairs = Object.entries(settings).map(([k, v]) => `${k}=${v}`);
  return pairs.length ? pairs.join(' ') : 'none';
}
