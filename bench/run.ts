// `npm run bench`: benchmarks that print figures. BENCH_N sets the message count.
import { deliveryBenchmark } from './delivery.js';

try {
  await deliveryBenchmark();
  process.exit(0);
} catch (err) {
  process.stderr.write(`benchmark failed: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
}
