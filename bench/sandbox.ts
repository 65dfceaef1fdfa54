// Sandbox benchmark: what running the workflow code costs a worker, with no server and none of the
// co-located servers' scatter. Replays the newest recorded delivery and campaign histories
// (test/histories, the files the replay test keeps) through the product's workflow bundle,
// BENCH_REPLAYS deliveries (default 1,000) in three rounds, and prints per delivery and per
// recipient of the campaign: the time in the SDK's workflow sandbox, the calls into it and the
// promises the workflow code creates. Two costs of the Temporal TypeScript SDK that grow with
// these counts are printed beside them:
//   - every call into the sandbox is a node:vm run with the SDK's deadlock timeout
//     (isolateExecutionTimeout), and Node starts and joins a watchdog thread for each such run;
//   - every promise created in workflow code has its stack captured and source-mapped by the
//     SDK's promise hook (for the Temporal UI's stack trace).
// The workers run compiled JavaScript, so Node's source map support is off here as it is there.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Script, createContext } from 'node:vm';
import v8 from 'node:v8';
import { bundleWorkflowCode, DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import proto from '@temporalio/proto';
import { workflowSources } from '../src/worker/create.js';

type History = proto.temporal.api.history.v1.IHistory;
const E = proto.temporal.api.enums.v1.EventType;

const REPLAYS = Math.max(10, Number(process.env.BENCH_REPLAYS ?? 1000));
const ROUNDS = 3;
const say = (l: string) => process.stdout.write(`${l}\n`);
const silent = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} };

/**
 * Calls into a node:vm context so far and the time spent in them, counted once `countSandboxCalls`
 * has run (the SDK enters its sandbox only through Script#runInContext; a call is synchronous, so
 * on an idle machine its time is its CPU).
 */
const sandbox = { calls: 0, ns: 0n };

/** Wraps Script#runInContext to count: only for this benchmark's run, never on import. */
function countSandboxCalls(): void {
  const runInContext = Script.prototype.runInContext;
  Script.prototype.runInContext = function counted(this: Script, ...args: Parameters<Script['runInContext']>) {
    sandbox.calls++;
    const start = process.hrtime.bigint();
    try {
      return runInContext.apply(this, args);
    } finally {
      sandbox.ns += process.hrtime.bigint() - start;
    }
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const cpuMs = (since: NodeJS.CpuUsage) => {
  const u = process.cpuUsage(since);
  return (u.user + u.system) / 1000;
};

/** CPU µs of one node:vm run of a trivial script, with and without a timeout. */
export function vmCallCost(calls = 20_000): { plain: number; withTimeout: number } {
  const context = createContext({});
  const script = new Script('1');
  const time = (options: { timeout?: number }) => {
    const since = process.cpuUsage();
    for (let i = 0; i < calls; i++) script.runInContext(context, options);
    return (cpuMs(since) * 1000) / calls;
  };
  time({}); // warm up
  return { plain: median([time({}), time({}), time({})]), withTimeout: median([time({ timeout: 5000 }), time({ timeout: 5000 }), time({ timeout: 5000 })]) };
}

interface Replayed {
  /** The process's CPU: the sandbox and the SDK's replay around it (decoding, its core, eviction). */
  cpuMs: number;
  /** Time inside the sandbox: the workflow code, the SDK's workflow runtime and the watchdogs. */
  sandboxMs: number;
  calls: number;
  promises: number;
}

/** Replays `history` `times` times in one replay worker; CPU and sandbox calls, or promises when `countPromises`. */
async function replay(code: string, history: History, times: number, countPromises: boolean): Promise<Replayed> {
  const histories = Array.from({ length: times }, (_, i) => ({ workflowId: `sandbox-bench-${i}`, history }));
  let promises = 0;
  // Only promises of another realm, the sandbox's: the bench's own are not the workflow code's.
  const hook = countPromises ? v8.promiseHooks.onInit((p) => void (p.constructor !== Promise && promises++)) : undefined;
  const calls = sandbox.calls;
  const ns = sandbox.ns;
  const since = process.cpuUsage();
  try {
    for await (const result of Worker.runReplayHistories({ workflowBundle: { code } }, histories)) {
      if (result.error) throw new Error(`${result.workflowId} did not replay: ${String(result.error)}`);
    }
  } finally {
    hook?.();
  }
  return { cpuMs: cpuMs(since), sandboxMs: Number(sandbox.ns - ns) / 1e6, calls: sandbox.calls - calls, promises };
}

/** Where the tests keep a history of each released workflow shape, `v<n>-<type>.binpb` (protobuf). */
const HISTORIES = fileURLToPath(new URL('../test/histories/', import.meta.url));

/** The newest recorded history of a type: the highest `v<n>`. Read as files, not through the tests' code. */
async function newestHistory(type: 'delivery' | 'campaign'): Promise<{ name: string; history: History }> {
  const version = (name: string) => Number(/^v(\d+)-/.exec(name)?.[1] ?? -1);
  const [name] = (await readdir(HISTORIES)).filter((f) => f.endsWith(`-${type}.binpb`)).sort((a, b) => version(b) - version(a));
  if (!name) throw new Error(`no recorded ${type} history in ${HISTORIES}`);
  return { name, history: proto.temporal.api.history.v1.History.decode(await readFile(join(HISTORIES, name))) };
}

const childrenStarted = (h: History) => (h.events ?? []).filter((e) => e.eventType === E.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED).length;

export async function sandboxBenchmark(): Promise<void> {
  process.setSourceMapsEnabled(false);
  // The SDK logs every replay worker's start and stop.
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const vm = vmCallCost();
  countSandboxCalls();
  say(`sandbox: one node:vm run ${vm.plain.toFixed(1)} µs of CPU, ${vm.withTimeout.toFixed(1)} µs with a timeout as the SDK passes it (a watchdog thread started and joined per run)`);
  const { code } = await bundleWorkflowCode({ workflowsPath: workflowSources(), logger: silent });
  const [delivery, campaign] = await Promise.all([newestHistory('delivery'), newestHistory('campaign')]);
  const recipients = childrenStarted(campaign.history);
  const campaignReplays = Math.max(3, Math.round(REPLAYS / Math.max(1, recipients)));
  const rounds: { delivery: Replayed; campaign: Replayed }[] = [];
  await replay(code, delivery.history, Math.min(REPLAYS, 100), false); // warm up
  for (let round = 0; round < ROUNDS; round++) {
    rounds.push({ delivery: await replay(code, delivery.history, REPLAYS, false), campaign: await replay(code, campaign.history, campaignReplays, false) });
  }
  const promiseReplays = Math.min(REPLAYS, 200);
  const promises = {
    delivery: (await replay(code, delivery.history, promiseReplays, true)).promises / promiseReplays,
    campaign: (await replay(code, campaign.history, 1, true)).promises / recipients,
  };
  // Per delivery, and per recipient for the campaign's share: medians over the rounds.
  const per = (which: 'delivery' | 'campaign', field: 'cpuMs' | 'sandboxMs' | 'calls') =>
    median(rounds.map((r) => r[which][field] / (which === 'delivery' ? REPLAYS : campaignReplays * recipients)));
  const watchdogMs = (calls: number) => (calls * (vm.withTimeout - vm.plain)) / 1000;
  const line = (label: string, which: 'delivery' | 'campaign', promiseCount: number) => {
    const calls = per(which, 'calls');
    say(`sandbox: ${label}: ${per(which, 'sandboxMs').toFixed(2)} ms in the sandbox (${calls.toFixed(1)} calls, their watchdogs ≈ ${watchdogMs(calls).toFixed(2)} ms), ` +
      `${promiseCount.toFixed(1)} promises; ${per(which, 'cpuMs').toFixed(2)} ms of process CPU with the replay around it`);
  };
  say(`sandbox: replayed ${delivery.name} ${REPLAYS}× and ${campaign.name} (${recipients} recipients) ${campaignReplays}× in each of ${ROUNDS} rounds; medians of the rounds`);
  line('per delivery', 'delivery', promises.delivery);
  line("per recipient, the campaign's share", 'campaign', promises.campaign);
  const calls = per('delivery', 'calls') + per('campaign', 'calls');
  const inside = per('delivery', 'sandboxMs') + per('campaign', 'sandboxMs');
  say(`sandbox: per recipient in all: ${inside.toFixed(2)} ms in the sandbox, ${calls.toFixed(1)} calls into it; the watchdogs ≈ ${watchdogMs(calls).toFixed(2)} ms ` +
    `(${((watchdogMs(calls) / inside) * 100).toFixed(0)} %), ${(promises.delivery + promises.campaign).toFixed(1)} promises`);
}
