import { Context } from '@temporalio/activity';

const HEARTBEAT_EVERY_MS = 2000;

/**
 * Runs `work` while heartbeating on a timer, so every wait inside it (a connection slot, a
 * throttle slot, an S3 read, rendering, a slow database) tells Temporal the worker is alive:
 * a heartbeat timeout then means a dead worker, never a busy one.
 */
export async function heartbeating<T>(work: (note: (details: unknown) => void) => Promise<T>): Promise<T> {
  const ctx = Context.current();
  // What the attempt wants its successor to know (the outcome of its SMTP transaction), repeated
  // in every heartbeat so a plain heartbeat never replaces it.
  let details: unknown;
  const beat = () => ctx.heartbeat(details);
  beat();
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
