// `npm run bench`: benchmarks that print figures. `npm run bench -- build`, `-- delivery` or
// `-- floor` runs one (`-- sandbox`, the workflow code replayed with no server, runs only when
// named); BENCH_N sets the delivery message count, BENCH_REPEAT its runs (median printed,
// default 3), BENCH_ROWS the build list length.
import { buildBenchmark } from './build.js';
import { deliveryBenchmark, floorBenchmark } from './delivery.js';
import { sandboxBenchmark } from './sandbox.js';
import { stopEverything } from './servers.js';

// Interrupted (Ctrl-C, or SIGTERM from a job runner that has no terminal to stop the whole group):
// the workers and servers it started are stopped before it exits, none left running idle.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    process.stderr.write(`benchmark interrupted (${signal}): stopping its workers and servers\n`);
    void stopEverything().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  });
}

const which = process.argv[2];
try {
  if (which === undefined || which === 'delivery') await deliveryBenchmark();
  if (which === 'floor') await floorBenchmark();
  if (which === 'sandbox') await sandboxBenchmark();
  if (which === undefined || which === 'build') await buildBenchmark();
  process.exit(0);
} catch (err) {
  process.stderr.write(`benchmark failed: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
}
