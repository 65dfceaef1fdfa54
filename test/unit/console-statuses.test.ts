import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ANSWER_KINDS, BUILD_STATUSES, CAMPAIGN_STATUSES, COPY_STATUSES, SEND_STATUSES } from '../../src/contract/statuses.js';

// The console imports the status vocabularies from src/contract/statuses.ts: a copy of its own
// would miss the next status the API adds (its filters would not offer it).

const consoleSrc = fileURLToPath(new URL('../../console/src/', import.meta.url));
const VOCABULARIES: Record<string, readonly string[]> = { CAMPAIGN_STATUSES, SEND_STATUSES, BUILD_STATUSES, COPY_STATUSES, ANSWER_KINDS };

test('no console source spells out a status vocabulary of its own', async () => {
  const copies: string[] = [];
  const files = (await readdir(consoleSrc)).filter((f) => /\.tsx?$/.test(f));
  assert.ok(files.includes('campaigns.tsx'), `read ${files.join(', ')}`);
  for (const file of files) {
    const text = await readFile(join(consoleSrc, file), 'utf8');
    // Array literals of string literals only.
    for (const m of text.matchAll(/\[\s*('[^'\n]*'(?:\s*,\s*'[^'\n]*')+)\s*,?\s*\]/g)) {
      const items = [...m[1]!.matchAll(/'([^']*)'/g)].map((i) => i[1]!);
      for (const [name, vocabulary] of Object.entries(VOCABULARIES)) {
        // All of it, or all but one (a copy that has already missed a status).
        const known = items.filter((i) => vocabulary.includes(i));
        if (known.length === items.length && known.length >= Math.max(3, vocabulary.length - 1)) copies.push(`${file}: ${name} as [${items.join(', ')}]`);
      }
    }
  }
  assert.deepEqual(copies, []);
});

// The console's action buttons (pause, resume, cancel, continue, reject, test send) are offered in
// the statuses src/contract/statuses.ts ACTION_STATUSES gives each action, the rule the workflow's
// validators read: a list of campaign statuses spelled out by hand, however short, would drift.
test('no console source spells out a list of campaign statuses of its own', async () => {
  const lists: string[] = [];
  const files = (await readdir(consoleSrc)).filter((f) => /\.tsx?$/.test(f));
  assert.ok(files.includes('campaigns.tsx'), `read ${files.join(', ')}`);
  for (const file of files) {
    const text = await readFile(join(consoleSrc, file), 'utf8');
    // Array literals of one or more string literals.
    for (const m of text.matchAll(/\[\s*('[^'\n]*'(?:\s*,\s*'[^'\n]*')*)\s*,?\s*\]/g)) {
      const items = [...m[1]!.matchAll(/'([^']*)'/g)].map((i) => i[1]!);
      if (items.every((i) => (CAMPAIGN_STATUSES as readonly string[]).includes(i))) lists.push(`${file}: [${items.join(', ')}]`);
    }
  }
  assert.deepEqual(lists, []);
});
