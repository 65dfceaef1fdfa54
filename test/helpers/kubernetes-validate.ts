import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { cacheDir } from '../../src/dev/temporal.js';

const run = promisify(execFile);

/** Pinned: the package ships the Kubernetes JSON schemas, one set per Kubernetes release. */
const KUBERNETES_VALIDATE_VERSION = '1.37.0';
/** The Kubernetes release whose schemas deploy/kubernetes is validated against (the newest the package ships). */
export const KUBERNETES_VERSION = '1.37.0';

const venvDir = () => join(cacheDir(), `kubernetes-validate-${KUBERNETES_VALIDATE_VERSION}-venv`);

/** Finds `kubernetes-validate` (PyPI), installing it into a virtualenv in the project's cache when it is missing. */
export async function ensureKubernetesValidate(say: (line: string) => void): Promise<string> {
  const path = join(venvDir(), 'bin', 'kubernetes-validate');
  if (existsSync(path)) return path;
  const venv = venvDir();
  say(`installing kubernetes-validate ${KUBERNETES_VALIDATE_VERSION} (it checks deploy/kubernetes against the Kubernetes schemas) into ${venv}`);
  await mkdir(cacheDir(), { recursive: true });
  try {
    await run('python3', ['-m', 'venv', venv]);
  } catch (err) {
    throw new Error(`the Kubernetes manifests test runs kubernetes-validate, which needs Python 3 with venv (apt-get install python3-venv): ${(err as Error).message.split('\n')[0]}`);
  }
  try {
    await run(join(venv, 'bin', 'pip'), ['install', '--quiet', `kubernetes-validate==${KUBERNETES_VALIDATE_VERSION}`], { maxBuffer: 16 * 1024 * 1024 });
  } catch (err) {
    throw new Error(`pip could not install kubernetes-validate into ${venv}: ${(err as Error).message.split('\n').slice(-3).join(' ')}`);
  }
  if (!existsSync(path)) throw new Error(`kubernetes-validate installed but ${path} is missing`);
  return path;
}
