import { Context } from '@temporalio/activity';

const HEARTBEAT_EVERY_MS = 2000;

/**
 * Runs `work` while heartbeating on a timer, so every wait inside it (a connection slot, a
 * throttle slot, an S3 read, rendering, a slow database) tells Temporal the worker is alive:
 * a heartbeat timeout then means a dead worker, never a busy one.
 *
 * The first beat is the timer's, or the first `note`, not one as the work starts: the timer's
 * comes long before the heartbeat timeout, and Temporal's worker sends an attempt's first
 * heartbeat at once but holds later ones back (up to 80 % of the heartbeat timeout, or until the
 * attempt completes, which then waits for it). A send that beat as it started had its SMTP
 * outcome, noted a moment later, held back in the worker exactly while it mattered, and cost two
 * heartbeat calls to the server per message. Now a quick send's one heartbeat is that outcome,
 * sent at once: one call to the server, one through the worker's native bridge.
 */
export async function heartbeating<T>(work: (note: (details: unknown) => void) => Promise<T>): Promise<T> {
  const ctx = Context.current();
  // What the attempt wants its successor to know (the outcome of its SMTP transaction), repeated
  // in every heartbeat so a plain heartbeat never replaces it. It starts as what the attempt
  // before left: an attempt that only records a carried outcome and fails (the database still
  // away) must hand it on, not replace it with nothing.
  let details: unknown = ctx.info.heartbeatDetails;
  const beat = () => ctx.heartbeat(details);
  const timer = setInterval(beat, HEARTBEAT_EVERY_MS);
  try {
    return await work((d) => {
      details = d;
      beat();
    });
  } finally {
    clearInterval(timer);
  }
}

const CHECK_EVERY_MS = 1000;

/**
 * Waits until `at`, heartbeating, so a long wait for a send slot never looks like a dead worker.
 * `check` runs about every second of the wait (a pause or cancel of the campaign, say); what it
 * throws ends the wait.
 */
export async function waitUntil(at: Date, check?: () => Promise<void>): Promise<void> {
  const ctx = Context.current();
  const step = check ? CHECK_EVERY_MS : HEARTBEAT_EVERY_MS;
  for (let left = at.getTime() - Date.now(); left > 0; left = at.getTime() - Date.now()) {
    await ctx.sleep(Math.min(left, step));
    ctx.heartbeat();
    await check?.();
  }
}
