import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import proto from '@temporalio/proto';

type History = proto.temporal.api.history.v1.IHistory;
const { History } = proto.temporal.api.history.v1;

const HISTORIES_DIR = fileURLToPath(new URL('../histories', import.meta.url));

/**
 * With RECORD_HISTORIES=<name>, keeps one campaign and one delivery history under test/histories
 * as `<name>-<type>.binpb` (protobuf), so later workflow code is replayed against the shape
 * released now.
 */
export async function recordHistories(histories: { workflowId: string; history: History }[]): Promise<void> {
  const name = process.env.RECORD_HISTORIES;
  if (!name) return;
  await mkdir(HISTORIES_DIR, { recursive: true });
  const completed = (h: History) => h.events?.some((e) => e.workflowExecutionCompletedEventAttributes) ?? false;
  const campaign = histories
    .filter((x) => /^campaign-[0-9a-f-]+$/.test(x.workflowId) && completed(x.history))
    .sort((a, b) => (b.history.events?.length ?? 0) - (a.history.events?.length ?? 0))[0];
  const delivery = histories.find((x) => x.workflowId.includes('-r-') && completed(x.history));
  for (const [type, item] of [['campaign', campaign], ['delivery', delivery]] as const) {
    if (!item) continue;
    const bytes = History.encode(History.fromObject(item.history)).finish();
    await writeFile(join(HISTORIES_DIR, `${name}-${type}.binpb`), bytes);
  }
}

export async function loadRecordedHistories(): Promise<{ workflowId: string; history: History }[]> {
  const files = (await readdir(HISTORIES_DIR)).filter((f) => f.endsWith('.binpb')).sort();
  return Promise.all(
    files.map(async (file) => ({ workflowId: file, history: History.decode(await readFile(join(HISTORIES_DIR, file))) })),
  );
}
