import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

// The README's layout section names every folder of the code, so a folder added without a word
// there fails here.

const root = fileURLToPath(new URL('../..', import.meta.url));

async function folders(parent: string): Promise<string[]> {
  const entries = await readdir(join(root, parent), { withFileTypes: true });
  return entries.filter((e) => e.isDirectory() && e.name !== 'dist' && e.name !== 'node_modules').map((e) => `${parent}/${e.name}`);
}

test('the README layout names every folder under src, console, bench, db, deploy and test', async () => {
  const readme = await readFile(join(root, 'README.md'), 'utf8');
  const start = readme.indexOf('### Layout');
  assert.ok(start >= 0, 'the README has a Layout section');
  const section = readme.slice(start, readme.indexOf('\n## ', start));
  const named = new Set([...section.matchAll(/`([a-z][\w/.-]*)`/g)].map((m) => m[1]!.replace(/\/$/, '')));
  const all = (await Promise.all(['src', 'console', 'bench', 'db', 'deploy', 'test'].map(folders))).flat();
  assert.ok(all.length > 20, `${all.length} folders`);
  assert.deepEqual(all.filter((f) => !named.has(f)).sort(), []);
});
