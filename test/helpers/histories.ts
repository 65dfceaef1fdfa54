import { mkdir, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import type { temporal } from '@temporalio/proto';

export const HISTORIES_DIR = fileURLToPath(new URL('../histories', import.meta.url));

/**
 * With RECORD_HISTORIES=<name>, keeps one campaign and one delivery history under test/histories
 * as `<name>-<type>.json`, so later workflow code is replayed against the shape released now.
 */
export async function recordHistories(histories: { workflowId: string; history: temporal.api.history.v1.IHistory }[]) {
  const name = process.env.RECORD_HISTORIES;
  if (!name) return;
  await mkdir(HISTORIES_DIR, { recursive: true });
  const completed = (h: temporal.api.history.v1.IHistory) =>
    h.events?.some((e) => e.workflowExecutionCompletedEventAttributes) ?? false;
  const campaign = histories
    .filter((x) => /^campaign-[0-9a-f-]+$/.test(x.workflowId) && completed(x.history))
    .sort((a, b) => (b.history.events?.length ?? 0) - (a.history.events?.length ?? 0))[0];
  const delivery = histories.find((x) => x.workflowId.includes('-r-') && completed(x.history));
  for (const [type, item] of [['campaign', campaign], ['delivery', delivery]] as const) {
    if (item) await writeFile(join(HISTORIES_DIR, `${name}-${type}.json`), historyToJSON(item.history));
  }
}
