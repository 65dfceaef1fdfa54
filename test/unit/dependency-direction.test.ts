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

/**
 * The folder rule: entry points live in their layer (activities in src/activities, routers in
 * src/api/routes, workflows in src/workflows, SQL in src/db, the worker in src/worker), and a
 * domain folder holds that domain's logic and never imports a layer that calls it, not even its
 * types. Every folder under src/ is one or the other (or `dev`, the embedded stack).
 */
const LAYERS = ['api', 'activities', 'workflows', 'worker', 'db'];
const DOMAINS = ['build', 'mail', 'bounces', 'review', 'schedule', 'unsubscribe', 'followups', 's3', 'crypto', 'net', 'contract'];
/** The layers that call into the domains: a domain importing one of them points the wrong way. */
const CALLERS = ['api', 'activities', 'workflows', 'worker'];

test('every folder under src/ is a layer or a domain', async () => {
  const folders = (await readdir(src, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
  assert.deepEqual(folders.filter((f) => ![...LAYERS, ...DOMAINS, 'dev'].includes(f)), []);
});

test('no domain folder imports a layer that calls it (api, activities, workflows, worker), not even a type', async () => {
  const all = await imports();
  const broken = all.filter((i) => DOMAINS.includes(folder(i.from)) && CALLERS.includes(folder(i.to)));
  assert.deepEqual(broken, []);
});

test('dependencies point one way: no layer imports at run time what it should not', async () => {
  const all = await imports();
  assert.ok(all.length > 100, `read ${all.length} imports`);
  const forbidden: [from: string, to: string][] = [
    ['api', 'activities'],
    ['activities', 'workflows'],
    ['db', 'activities'],
    ['db', 'api'],
    ['db', 'workflows'],
    ['db', 'worker'],
    // The contract is the shared language: it leans on no adapter or domain.
    ['contract', 'build'],
    ['contract', 'db'],
    ['contract', 's3'],
    // Nor on an engine: the template syntax check is the contract's own (contract/template-syntax.ts).
    ['contract', 'mail'],
    ['mail', 'db'],
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
