// Loaded (--import) into every test file's process by test/run.ts: when the process exits, it
// appends its file, its wall time from process start and the CPU time its own process used (the
// in-process worker and API included, the shared servers not) to $CM_TEST_FILE_TIMES. The runner
// prints them, slowest first: a file with little CPU for its wall time waits on the clock.
// Plain JavaScript: it is loaded beside tsx, not through it.
import { appendFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

const out = process.env.CM_TEST_FILE_TIMES;
// The test runner's own process has --test among its flags; each file's process has the file as its script.
if (out && !process.execArgv.includes('--test') && process.argv[1]) {
  process.on('exit', () => {
    const cpu = process.cpuUsage();
    const cpuMs = Math.round((cpu.user + cpu.system) / 1000);
    appendFileSync(out, `${JSON.stringify({ file: process.argv[1], ms: Math.round(performance.now()), cpuMs })}\n`);
  });
}
