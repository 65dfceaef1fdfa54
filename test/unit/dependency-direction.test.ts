import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const src = fileURLToPath(new URL('../../src/', import.meta.url));

/** Every import of every module under src/: which module imports what, and whether only its types. */
async function imports(): Promise<{ from: string; to: string; typeOnly: boolean }[]> {
  const out: { from: string; to: string; typeOnly: boolean }[] = [];
  for (const entry of await readdir(src, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts')) continue;
    const path = join(entry.parentPath, entry.name);
    const text = await readFile(path, 'utf8');
    for (const m of text.matchAll(/^import (type )?[^;]*?from '(\.[^']+)';/gms)) {
      const to = relative(src, join(entry.parentPath, m[2]!)).replace(/\.js$/, '.ts');
      out.push({ from: relative(src, path), to, typeOnly: m[1] !== undefined });
    }
  }
  return out;
}

const folder = (path: string) => path.split('/')[0]!;

test('dependencies point one way: no folder imports at run time what it should not', async () => {
  const all = await imports();
  assert.ok(all.length > 100, `read ${all.length} imports`);
  const forbidden: [from: string, to: string][] = [
    ['api', 'activities'],
    ['activities', 'workflows'],
    ['contract', 'activities'],
    ['contract', 'build'],
    ['contract', 'db'],
    ['contract', 'workflows'],
    ['mail', 'db'],
    ['db', 'activities'],
    ['db', 'api'],
    ['build', 'activities'],
    // Only the API speaks HTTP: features throw the domain's refusals (contract/refusal.ts).
    ['followups', 'api'],
    ['bounces', 'api'],
    ['unsubscribe', 'api'],
    ['build', 'api'],
    ['mail', 'api'],
    // The contract is the shared language: it leans on no adapter.
    ['contract', 's3'],
    ['contract', 'api'],
    // Nor on an engine: the template syntax check is the contract's own (contract/template-syntax.ts).
    ['contract', 'mail'],
  ];
  const broken = all.filter((i) => !i.typeOnly && forbidden.some(([f, t]) => folder(i.from) === f && folder(i.to) === t));
  assert.deepEqual(broken, []);
});

test('SQL lives in src/db: no tagged query template outside it', async () => {
  const outside: string[] = [];
  for (const entry of await readdir(src, { recursive: true, withFileTypes: true })) {
    const path = join(entry.parentPath, entry.name);
    const where = relative(src, path);
    if (!entry.isFile() || !entry.name.endsWith('.ts') || ['db', 'dev'].includes(folder(where))) continue;
    const text = await readFile(path, 'utf8');
    for (const m of text.matchAll(/\b(?:sql|tx|db)(?:<[^>`]*>)?`/g)) outside.push(`${where}: ${m[0]}`);
  }
  assert.deepEqual(outside, []);
});

test('the benchmarks import nothing of the tests: they start their servers in bench/servers.ts from src/dev', async () => {
  const bench = fileURLToPath(new URL('../../bench/', import.meta.url));
  const intoTest: string[] = [];
  for (const entry of await readdir(bench, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts')) continue;
    const path = join(entry.parentPath, entry.name);
    const text = await readFile(path, 'utf8');
    for (const m of text.matchAll(/(?:from |import\()'(\.[^']+)'/g)) {
      const to = relative(join(bench, '..'), join(entry.parentPath, m[1]!));
      if (folder(to) === 'test') intoTest.push(`${relative(bench, path)} → ${to}`);
    }
  }
  assert.deepEqual(intoTest, []);
});
