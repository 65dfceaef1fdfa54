// `npm run bench`: benchmarks that print figures. `npm run bench -- build`, `-- delivery` or
// `-- floor` runs one; BENCH_N sets the delivery message count, BENCH_REPEAT its runs (median
// printed, default 3), BENCH_ROWS the build list length.
import { buildBenchmark } from './build.js';
import { deliveryBenchmark, floorBenchmark } from './delivery.js';

const which = process.argv[2];
try {
  if (which === undefined || which === 'delivery') await deliveryBenchmark();
  if (which === 'floor') await floorBenchmark();
  if (which === undefined || which === 'build') await buildBenchmark();
  process.exit(0);
} catch (err) {
  process.stderr.write(`benchmark failed: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
}
