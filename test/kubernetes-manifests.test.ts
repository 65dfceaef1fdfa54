import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { promisify } from 'node:util';
import { parseAllDocuments, stringify } from 'yaml';
import { z } from 'zod';
import { apiEnvSchema, migrateEnvSchema, parseEnv, workerEnvSchema } from '../src/config.js';
import { ensureKubernetesValidate, KUBERNETES_VERSION } from './helpers/kubernetes-validate.js';
import { readDockerfile, requiredVariables, root } from './helpers/compose.js';

// deploy/kubernetes is validated here without a cluster: strictly (an unknown field is an error)
// against the JSON schemas of a current Kubernetes release that PyPI's kubernetes-validate ships,
// and against what the application reads and serves: its configuration schemas, its probes'
// paths and ports, the worker's shutdown grace, the image's user.

const run = promisify(execFile);
const dir = join(root, 'deploy/kubernetes');
const files = readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort();

/** The minimal shape of what these manifests hold; the schemas check the rest. */
type EnvVar = { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string; optional?: boolean }; configMapKeyRef?: unknown } };
type Probe = { httpGet?: { path: string; port: string | number } };
type Container = {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  env?: EnvVar[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  ports?: { name?: string; containerPort: number }[];
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  resources?: { requests?: { memory?: string; cpu?: string }; limits?: { memory?: string } };
  securityContext?: { allowPrivilegeEscalation?: boolean; runAsNonRoot?: boolean };
};
type PodSpec = {
  containers: Container[];
  terminationGracePeriodSeconds?: number;
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number };
};
type Manifest = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  data?: Record<string, string>;
  spec?: {
    replicas?: number;
    minAvailable?: number;
    selector?: { matchLabels?: Record<string, string> };
    template?: { metadata?: { labels?: Record<string, string> }; spec: PodSpec };
  };
};

const manifests: (Manifest & { file: string })[] = files.flatMap((file) =>
  parseAllDocuments(readFileSync(join(dir, file), 'utf8')).map((d) => ({ ...(d.toJS() as Manifest), file })),
);
const ofKind = (kind: string) => manifests.filter((m) => m.kind === kind);
const workloads = [...ofKind('Deployment'), ...ofKind('Job')];
/** The role of a workload: the command its container gives the image's ENTRYPOINT (dist/cli.js). */
const role = (m: Manifest) => m.spec!.template!.spec.containers[0]!.args?.[0] ?? '';
const workload = (name: string) => workloads.find((m) => role(m) === name) ?? assert.fail(`a workload runs ${name}`);
const schemas: Record<string, z.ZodObject> = { api: apiEnvSchema, worker: workerEnvSchema, migrate: migrateEnvSchema };
const dockerfile = readDockerfile();

let validator: string;
before(async () => {
  validator = await ensureKubernetesValidate((line) => console.log(line));
});

async function validate(paths: string[]): Promise<{ code: number; output: string }> {
  try {
    const r = await run(validator, ['--strict', '--kubernetes-version', KUBERNETES_VERSION, ...paths]);
    return { code: 0, output: r.stdout + r.stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

test(`every manifest validates strictly against the Kubernetes ${KUBERNETES_VERSION} schemas`, async () => {
  assert.ok(files.length >= 4, `manifests in deploy/kubernetes: ${files.join(', ')}`);
  const r = await validate(files.map((f) => join(dir, f)));
  assert.equal(r.code, 0, r.output);
  // One "passed" line per document: nothing skipped as unknown.
  assert.equal((r.output.match(/ passed for resource /g) ?? []).length, manifests.length, r.output);
  assert.match(r.output, new RegExp(`against version ${KUBERNETES_VERSION.replace(/\.0$/, '').replace('.', '\\.')}`));
});

test('the check can fail: an unknown field, a misspelt one, a wrong type each fail validation', async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'k8s-broken-'));
  const worker = workload('worker');
  const mutants: [string, (m: Manifest) => void][] = [
    ['unknown', (m) => ((m.spec!.template!.spec as Record<string, unknown>).shutdownGraceSeconds = 90)],
    ['misspelt', (m) => ((m.spec!.template!.spec.containers[0] as Record<string, unknown>).livenesProbe = { httpGet: { path: '/metrics', port: 9464 } })],
    ['wrong-type', (m) => ((m.spec as Record<string, unknown>).replicas = 'two')],
  ];
  for (const [name, change] of mutants) {
    const copy = structuredClone(worker) as Manifest & { file?: string };
    delete copy.file;
    change(copy);
    const path = join(tmp, `${name}.yaml`);
    writeFileSync(path, stringify(copy));
    const r = await validate([path]);
    assert.notEqual(r.code, 0, `${name}: ${r.output}`);
    assert.match(r.output, /did not validate/, name);
  }
});

test('no Secret values in the files: secrets come by reference, no namespace is fixed', () => {
  assert.deepEqual(ofKind('Secret'), [], 'no Secret is shipped');
  const secret = ['DATABASE_URL', 'MASTER_KEY', 'MASTER_KEY_PREVIOUS', 'API_KEY', 'SMTP_URL', 'IMAP_URL', 'S3_SECRET_ACCESS_KEY', 'TEMPORAL_API_KEY', 'TEMPORAL_TLS_CLIENT_KEY_DATA', 'UNSUBSCRIBE_KEY'];
  for (const m of ofKind('ConfigMap')) assert.deepEqual(Object.keys(m.data ?? {}).filter((k) => secret.includes(k)), [], `${m.metadata.name}: secrets in a ConfigMap`);
  for (const m of workloads) {
    for (const c of m.spec!.template!.spec.containers) {
      for (const e of c.env ?? []) {
        if (secret.includes(e.name)) assert.ok(e.valueFrom?.secretKeyRef && e.value === undefined, `${m.metadata.name}: ${e.name} from a Secret`);
      }
    }
  }
  for (const m of manifests) assert.equal(m.metadata.namespace, undefined, `${m.file}: ${m.metadata.name} names no namespace`);
});

/** What a container's environment holds: its env entries and the ConfigMaps it takes whole. */
function containerEnv(c: Container): { names: string[]; literal: Record<string, string>; fromSecret: string[] } {
  const literal: Record<string, string> = {};
  const fromSecret: string[] = [];
  for (const from of c.envFrom ?? []) {
    assert.equal(from.secretRef, undefined, 'secrets are taken key by key (secretKeyRef), so their names can be checked');
    const map = ofKind('ConfigMap').find((m) => m.metadata.name === from.configMapRef?.name);
    assert.ok(map, `the ConfigMap ${from.configMapRef?.name} is in deploy/kubernetes`);
    Object.assign(literal, map.data);
  }
  for (const e of c.env ?? []) {
    if (e.value !== undefined) literal[e.name] = e.value;
    else if (e.valueFrom?.secretKeyRef) fromSecret.push(e.name);
    else assert.fail(`${e.name}: a value or a secretKeyRef`);
  }
  return { names: [...Object.keys(literal), ...fromSecret], literal, fromSecret };
}

/** Values of the right form for settings that come from the Secret, to parse the rest with. */
const SECRET_STAND_INS: Record<string, string> = {
  DATABASE_URL: 'postgres://mailer:secret@postgres:5432/campaign_mailer',
  MASTER_KEY: 'ab'.repeat(32),
  API_KEY: 'k'.repeat(24),
  SMTP_URL: 'smtp://user:secret@smtp.example.com:587',
  IMAP_URL: 'imaps://user:secret@imap.example.com:993',
};

test('every variable the manifests pass is a setting of the configuration its command reads, and it parses', () => {
  for (const name of ['api', 'worker', 'migrate']) {
    const m = workload(name);
    const c = m.spec!.template!.spec.containers[0]!;
    assert.equal(c.command, undefined, `${name}: the image's ENTRYPOINT runs (dist/cli.js ${name})`);
    assert.deepEqual([dockerfile.entrypoint[0], dockerfile.entrypoint.at(-1)], ['node', 'dist/cli.js']);
    const env = containerEnv(c);
    const known = Object.keys(schemas[name]!.shape);
    assert.deepEqual(env.names.filter((k) => !known.includes(k)), [], `${name}: variables its configuration does not know`);
    const stand = Object.fromEntries(env.fromSecret.map((k) => [k, SECRET_STAND_INS[k] ?? 's'.repeat(40)]));
    const given = { ...dockerfile.env, ...env.literal, ...stand };
    assert.doesNotThrow(() => parseEnv(schemas[name]!, given), `${name}: its environment parses`);
    assert.deepEqual(requiredVariables(schemas[name]!).filter((k) => !(k in given)), [], `${name}: required variables not given`);
  }
});

const settingOf = (c: Container, key: string): string | undefined => containerEnv(c).literal[key] ?? dockerfile.env[key];

test('workers: two or more, a grace period above WORKER_SHUTDOWN_GRACE_SECONDS, a disruption budget, memory from the bench', () => {
  const worker = workload('worker');
  const pod = worker.spec!.template!.spec;
  const c = pod.containers[0]!;
  assert.ok((worker.spec!.replicas ?? 1) >= 2, 'worker replicas');
  const defaultGrace = parseEnv(workerEnvSchema, { DATABASE_URL: 'postgres://x/y', SMTP_URL: 'smtp://x' }).WORKER_SHUTDOWN_GRACE_SECONDS;
  const grace = Number(settingOf(c, 'WORKER_SHUTDOWN_GRACE_SECONDS') ?? defaultGrace);
  assert.ok(pod.terminationGracePeriodSeconds! > Math.max(grace, defaultGrace), `terminationGracePeriodSeconds ${pod.terminationGracePeriodSeconds} > ${grace}`);
  // The API answers requests in flight for up to 70 s after SIGTERM (src/api/main.ts).
  assert.ok(workload('api').spec!.template!.spec.terminationGracePeriodSeconds! > 70, 'api grace');

  const [pdb, ...more] = ofKind('PodDisruptionBudget');
  assert.ok(pdb && more.length === 0, 'one PodDisruptionBudget');
  assert.deepEqual(pdb.spec!.selector!.matchLabels, worker.spec!.selector!.matchLabels);
  for (const [k, v] of Object.entries(pdb.spec!.selector!.matchLabels!)) assert.equal(worker.spec!.template!.metadata!.labels![k], v, 'the budget selects the worker pods');
  assert.ok(pdb.spec!.minAvailable! >= 1 && pdb.spec!.minAvailable! < worker.spec!.replicas!, 'a drain can move a worker, never all');

  // The bench's large campaign: 449 MB peak RSS of one worker (docs/benchmarks.md, the 2026-12-04 table).
  const workerMemory = bytes(c.resources?.requests?.memory);
  assert.ok(workerMemory >= 449e6, `worker memory request ${c.resources?.requests?.memory} covers the measured peak`);
  assert.ok(bytes(c.resources?.limits?.memory) > workerMemory, 'a limit above the request');
  const apiMemory = bytes(workload('api').spec!.template!.spec.containers[0]!.resources?.requests?.memory);
  assert.ok(apiMemory > 0 && apiMemory < workerMemory, 'the api asks for less');
});

function bytes(quantity: string | undefined): number {
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|K|M|G)?$/.exec(quantity ?? '');
  assert.ok(m, `a memory quantity: ${quantity}`);
  const unit = { Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, K: 1e3, M: 1e6, G: 1e9 }[m[2] ?? ''] ?? 1;
  return Number(m[1]) * unit;
}

test('probes reach what each process serves: the api /readyz and /healthz on PORT, the worker only /metrics on METRICS_PORT', () => {
  const portOf = (c: Container, p: Probe) => {
    const port = p.httpGet!.port;
    return typeof port === 'number' ? port : c.ports?.find((x) => x.name === port)?.containerPort;
  };
  const api = workload('api').spec!.template!.spec.containers[0]!;
  assert.equal(api.readinessProbe?.httpGet?.path, '/readyz');
  assert.equal(api.livenessProbe?.httpGet?.path, '/healthz');
  for (const p of [api.readinessProbe!, api.livenessProbe!]) assert.equal(String(portOf(api, p)), settingOf(api, 'PORT'), 'the API port');
  const worker = workload('worker').spec!.template!.spec.containers[0]!;
  assert.equal(settingOf(worker, 'METRICS_HOST'), '0.0.0.0', 'metrics reachable from the kubelet');
  for (const p of [worker.readinessProbe, worker.livenessProbe]) {
    assert.equal(p?.httpGet?.path, '/metrics');
    assert.equal(String(portOf(worker, p)), settingOf(worker, 'METRICS_PORT'), 'the metrics port');
  }
  const service = ofKind('Service').find((s) => s.metadata.name === 'campaign-mailer-api');
  assert.ok(service, 'a Service for the api');
});

test("non-root as the image's user, no privilege escalation", () => {
  assert.match(dockerfile.text, /^USER node$/m);
  for (const m of workloads) {
    const pod = m.spec!.template!.spec;
    assert.equal(pod.securityContext?.runAsNonRoot, true, `${m.metadata.name}: runAsNonRoot`);
    // The node images' `node` user.
    assert.equal(pod.securityContext?.runAsUser, 1000, `${m.metadata.name}: runAsUser`);
    for (const c of pod.containers) assert.equal(c.securityContext?.allowPrivilegeEscalation, false, `${m.metadata.name}/${c.name}`);
  }
});
