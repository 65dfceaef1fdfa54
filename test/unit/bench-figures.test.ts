import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sparkline, temporalText, tenths } from '../../bench/figures.js';
import { benchNodeFlags, imageNodeFlags } from '../../bench/image.js';

// The delivery benchmark prints each worker's memory through a run as ten figures and a sparkline,
// runs its workers with the image's node flags, and says which Temporal server its figures are of.

test('a long series reads as the largest sample of each tenth', () => {
  const samples = Array.from({ length: 100 }, (_, i) => i);
  assert.deepEqual(tenths(samples), [9, 19, 29, 39, 49, 59, 69, 79, 89, 99]);
  // Uneven lengths: every sample falls in one tenth, the last one in the last.
  const uneven = Array.from({ length: 23 }, (_, i) => (i === 22 ? 500 : i === 0 ? 400 : 1));
  const t = tenths(uneven);
  assert.equal(t.length, 10);
  assert.equal(t[0], 400);
  assert.equal(t[9], 500);
  assert.ok(t.slice(1, 9).every((x) => x === 1));
});

test('a short series is kept as it is', () => {
  assert.deepEqual(tenths([]), []);
  assert.deepEqual(tenths([3, 1, 2]), [3, 1, 2]);
});

test('the sparkline runs from the lowest block to the highest, on a scale given or its own', () => {
  assert.equal(sparkline([0, 7, 14]), '▁▅█');
  assert.equal(sparkline([0, 1, 2, 3, 4, 5, 6, 7]), '▁▂▃▄▅▆▇█');
  assert.equal(sparkline([5, 5]), '▁▁');
  // On a shared scale: a row that stays low draws low.
  assert.equal(sparkline([100, 110], 100, 170), '▁▂');
  assert.equal(sparkline([200], 100, 170), '█');
});

test("the bench's workers take the image's node flags, or BENCH_NODE_FLAGS instead (empty: none)", () => {
  const stage = { env: {}, entrypoint: ['node', '--a=1', '--b', 'dist/cli.js'], healthcheck: [], text: '' };
  assert.deepEqual(imageNodeFlags(stage), ['--a=1', '--b']);
  assert.deepEqual(imageNodeFlags({ ...stage, entrypoint: ['node', 'dist/cli.js'] }), []);
  assert.deepEqual(imageNodeFlags({ ...stage, entrypoint: ['sh', '-c', 'x'] }), []);
  assert.deepEqual(benchNodeFlags({}, ['--a=1']), { flags: ['--a=1'], text: "--a=1 (the image's)" });
  assert.deepEqual(benchNodeFlags({ BENCH_NODE_FLAGS: '' }, ['--a=1']), { flags: [], text: 'none (BENCH_NODE_FLAGS)' });
  assert.deepEqual(benchNodeFlags({ BENCH_NODE_FLAGS: ' --c  --d=2 ' }, ['--a=1']), { flags: ['--c', '--d=2'], text: '--c --d=2 (BENCH_NODE_FLAGS)' });
});

test('the figures say which Temporal server they are of, and the dev server\'s GOGC', () => {
  assert.equal(temporalText({}), "a dev server in memory, GOGC unset (Go's default, 100)");
  assert.equal(temporalText({ GOGC: '400' }), 'a dev server in memory, GOGC 400 (from the environment)');
  assert.equal(temporalText({ TEMPORAL_ADDRESS: '10.0.0.5:7233', GOGC: '400' }), 'the server at 10.0.0.5:7233 (TEMPORAL_ADDRESS)');
});
