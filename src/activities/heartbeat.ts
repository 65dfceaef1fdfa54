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

/** Waits until `at`, heartbeating, so a long wait for a send slot never looks like a dead worker. */
export async function waitUntil(at: Date): Promise<void> {
  const ctx = Context.current();
  for (let left = at.getTime() - Date.now(); left > 0; left = at.getTime() - Date.now()) {
    await ctx.sleep(Math.min(left, HEARTBEAT_EVERY_MS));
    ctx.heartbeat();
  }
}
