import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, cp, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { ImapFlow } from 'imapflow';
import { reachableDataDir } from '../src/dev/data-dir.js';
import { findDovecot, startDovecot } from '../src/dev/dovecot.js';
import { freePort } from '../src/dev/ports.js';

// A newcomer who is root clones into root's home (mode 0700) and runs npm install: embedded
// PostgreSQL runs initdb as the `postgres` user, which cannot reach that node_modules. It must
// start all the same (binaries copied where that user can reach them, data moved likewise), and
// when it cannot, say why in one line.

const projectRoot = fileURLToPath(new URL('..', import.meta.url));
const asRoot = process.getuid?.() === 0;
let home = '';
let clone = '';
let cache = '';

before(async () => {
  if (!asRoot) return;
  home = await mkdtemp(join(tmpdir(), 'cm-home-'));
  await chmod(home, 0o700);
  clone = join(home, 'campaign-mailer');
  await mkdir(clone);
  // The project's files and its node_modules (hard links: as npm install leaves them, quickly).
  for (const f of ['package.json', 'tsconfig.json', 'src']) await cp(join(projectRoot, f), join(clone, f), { recursive: true });
  execFileSync('cp', ['-al', join(projectRoot, 'node_modules'), join(clone, 'node_modules')]);
  // A cache of this test's own, open to other users like /var/cache: the copy is made afresh.
  cache = await mkdtemp(join(tmpdir(), 'cm-pg-cache-'));
  await chmod(cache, 0o755);
  await writeFile(
    join(clone, 'start-postgres.ts'),
    `import postgres from 'postgres';
import { postgresDataDir } from './src/dev/data-dir.js';
import { startEmbeddedPostgres } from './src/dev/postgres.js';
const dir = postgresDataDir(${JSON.stringify(join(clone, '.data', 'dev', 'postgres'))});
try {
  const db = await startEmbeddedPostgres({ dir, port: Number(process.env.PG_PORT), database: 'campaign_mailer', binaryCache: process.env.PG_CACHE });
  const sql = postgres(db.url, { max: 1 });
  const [row] = await sql\`SELECT current_database() AS db\`;
  await sql.end();
  await db.stop();
  console.log(JSON.stringify({ ok: row.db, dir }));
} catch (err) {
  console.log(JSON.stringify({ error: err.message, dir }));
  process.exitCode = 1;
}
`,
  );
});

after(async () => {
  if (!asRoot) return;
  await rm(home, { recursive: true, force: true });
  await rm(cache, { recursive: true, force: true });
});

function startIn(cacheDir: string): Promise<{ code: number; out: { ok?: string; error?: string; dir: string }; stderr: string }> {
  return new Promise((done, fail) => {
    void freePort().then((port) => {
      execFile(
        process.execPath,
        ['--import', 'tsx', 'start-postgres.ts'],
        { cwd: clone, env: { ...process.env, PG_PORT: String(port), PG_CACHE: cacheDir }, timeout: 120_000 },
        (err, stdout, stderr) => {
          const line = stdout.trim().split('\n').at(-1) ?? '';
          try {
            done({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: JSON.parse(line), stderr });
          } catch {
            fail(new Error(`unexpected output: ${stdout}\n${stderr}`));
          }
        },
      );
    }, fail);
  });
}

test('embedded PostgreSQL starts from a clone in a 0700 folder as root', { skip: !asRoot && 'runs only as root' }, async () => {
  const { code, out, stderr } = await startIn(cache);
  try {
    assert.equal(code, 0, `${JSON.stringify(out)}\n${stderr}`);
    assert.equal(out.ok, 'campaign_mailer');
    assert.ok(!out.dir.startsWith(home), `the data went where the postgres user can reach it: ${out.dir}`);
    const copies = (await readdir(cache)).filter((d) => d.startsWith('embedded-postgres-') && existsSync(join(cache, d, 'complete')));
    assert.equal(copies.length, 1, 'the binaries were copied to the cache');
    assert.doesNotMatch(stderr, /EACCES|Unhandled 'error' event/);
  } finally {
    await rm(join(out.dir, '..'), { recursive: true, force: true });
  }
});

test('when the postgres user cannot run the binaries, the start fails with one line saying so', { skip: !asRoot && 'runs only as root' }, async () => {
  // A cache inside the 0700 folder is as unreachable as node_modules there.
  const { code, out, stderr } = await startIn(join(home, 'cache'));
  await rm(join(out.dir, '..'), { recursive: true, force: true });
  assert.notEqual(code, 0);
  assert.ok(out.error, JSON.stringify(out));
  assert.equal(out.error.split('\n').length, 1, out.error);
  assert.match(out.error, /^embedded PostgreSQL cannot start: the "postgres" user cannot run .*initdb \(EACCES\)$/);
  assert.doesNotMatch(stderr, /Unhandled 'error' event|at .*\.js:\d+/);
});

test('Dovecot for `npm run dev` keeps its mail where its user can reach it from a 0700 clone', { skip: (!asRoot || !findDovecot()) && 'runs only as root with Dovecot' }, async () => {
  const dir = reachableDataDir(join(clone, '.data', 'dev', 'dovecot'));
  assert.ok(!dir.startsWith(home), dir);
  const port = await freePort();
  const server = await startDovecot({ binary: findDovecot()!, dir, port, password: 'any-folder' });
  try {
    const imap = new ImapFlow({ host: '127.0.0.1', port, secure: false, auth: { user: 'campaigns', pass: 'any-folder' }, logger: false });
    await imap.connect();
    try {
      const appended = await imap.append('Sent', 'Message-ID: <any-folder@test>\r\nSubject: filed\r\n\r\nA Sent copy.\r\n');
      assert.ok(appended && appended.destination === 'Sent', 'the Sent copy was filed');
      const status = await imap.status('Sent', { messages: true });
      assert.equal(status && status.messages, 1);
    } finally {
      await imap.logout();
    }
  } finally {
    await server.stop();
    await rm(join(dir, '..'), { recursive: true, force: true });
  }
});
