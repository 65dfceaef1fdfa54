// Loaded (--import) into every test file's process by test/run.ts: when the process exits, it
// appends its file and its wall time, from process start, to $CM_TEST_FILE_TIMES. The runner
// prints them, slowest first. Plain JavaScript: it is loaded beside tsx, not through it.
import { appendFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

const out = process.env.CM_TEST_FILE_TIMES;
// The test runner's own process has --test among its flags; each file's process has the file as its script.
if (out && !process.execArgv.includes('--test') && process.argv[1]) {
  process.on('exit', () => {
    appendFileSync(out, `${JSON.stringify({ file: process.argv[1], ms: Math.round(performance.now()) })}\n`);
  });
}
