// `npm test`: provisions what the tests need (the Temporal CLI, Dovecot, moto, Schemathesis), starts the shared
// real servers on free ports, runs every test file with Node's test runner, and stops everything.
import { spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startSharedServers } from './helpers/servers.js';
import { ensureSchemathesis } from '../src/dev/schemathesis.js';

const say = (line: string) => process.stdout.write(`[test setup] ${line}\n`);
const projectRoot = fileURLToPath(new URL('..', import.meta.url));
const started = Date.now();
const stops: (() => Promise<unknown>)[] = [];

async function testFiles(args: string[]): Promise<string[]> {
  if (args.length > 0) return args;
  const found: string[] = [];
  async function walk(dir: string) {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.name.endsWith('.test.ts')) found.push(relative(projectRoot, path));
    }
  }
  await walk(join(projectRoot, 'test'));
  return found.sort();
}

async function main(): Promise<number> {
  const files = await testFiles(process.argv.slice(2));
  const servers = await startSharedServers(say);
  stops.push(servers.stop);
  say(`servers up in ${((Date.now() - started) / 1000).toFixed(1)} s: ${servers.summary}`);
  // The contract test (test/contract.test.ts) runs Schemathesis against a running API.
  const schemathesis = await ensureSchemathesis(say);

  // Each file runs in its own process on its own database, task queue, bucket, IMAP user and SMTP
  // sink (test/helpers/harness.ts), so files can overlap. Node's default is one fewer than the
  // cores, which is one file at a time on a 2-core machine; CM_TEST_CONCURRENCY overrides. The
  // files in ALONE load the shared Temporal server so hard (Schemathesis starts hundreds of
  // workflows) that a file beside them misses its deadlines: they run after the others, alone.
  const concurrency = process.env.CM_TEST_CONCURRENCY ?? '2';
  const alone = files.filter((f) => ALONE.has(f.replace(/\\/g, '/')));
  const together = files.filter((f) => !alone.includes(f));
  say(`running ${together.length} file(s), ${concurrency} at a time${alone.length ? `, then ${alone.join(', ')} alone` : ''}`);
  const env = { ...process.env, ...servers.env, CM_TEST_SCHEMATHESIS: schemathesis };
  let code = together.length ? await runFiles(together, concurrency, env) : 0;
  for (const file of alone) code = (await runFiles([file], '1', env)) || code;
  return code;
}

const ALONE = new Set(['test/contract.test.ts']);

async function runFiles(files: string[], concurrency: string, env: NodeJS.ProcessEnv): Promise<number> {
  const child = spawn(process.execPath, ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, ...files], { cwd: projectRoot, stdio: 'inherit', env });
  return new Promise((resolve) => child.once('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0))));
}

async function stopAll(): Promise<void> {
  for (const stop of stops.splice(0)) {
    try {
      await stop();
    } catch (err) {
      say(`while stopping: ${(err as Error).message}`);
    }
  }
}

let exitCode = 1;
try {
  exitCode = await main();
} catch (err) {
  process.stderr.write(`[test setup] cannot run the tests: ${(err as Error).message}\n`);
  exitCode = 1;
}
await stopAll();
say(`done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
process.exit(exitCode);
