import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { cacheDir } from '../../src/dev/temporal.js';

const run = promisify(execFile);

/** Pinned: its CLI flags and checks change between releases. */
const SCHEMATHESIS_VERSION = '4.32.5';

const venvDir = () => join(cacheDir(), `schemathesis-${SCHEMATHESIS_VERSION}-venv`);
/** The `st` command of Schemathesis (PyPI), in a virtualenv in the project's cache. */
const schemathesisPath = () => join(venvDir(), 'bin', 'st');

/** Finds Schemathesis's `st`, installing it into the cache with pip when it is missing. */
export async function ensureSchemathesis(say: (line: string) => void): Promise<string> {
  const path = schemathesisPath();
  if (existsSync(path)) return path;
  const venv = venvDir();
  say(`installing Schemathesis ${SCHEMATHESIS_VERSION} (it checks the API against its OpenAPI document) into ${venv}`);
  await mkdir(cacheDir(), { recursive: true });
  try {
    await run('python3', ['-m', 'venv', venv]);
  } catch (err) {
    throw new Error(
      `the contract test runs Schemathesis, which needs Python 3 with venv (apt-get install python3-venv): ${(err as Error).message.split('\n')[0]}`,
    );
  }
  try {
    await run(join(venv, 'bin', 'pip'), ['install', '--quiet', `schemathesis==${SCHEMATHESIS_VERSION}`], { maxBuffer: 16 * 1024 * 1024 });
  } catch (err) {
    throw new Error(`pip could not install schemathesis into ${venv}: ${(err as Error).message.split('\n').slice(-3).join(' ')}`);
  }
  if (!existsSync(path)) throw new Error(`schemathesis installed but ${path} is missing`);
  return path;
}
