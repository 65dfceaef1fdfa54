import { startUnderMinuteLimits, type RateLimit } from '../db/send-slots.js';
import type { Sql } from '../db/sql.js';
import { waitUntil } from './heartbeat.js';

/**
 * Right before an SMTP transaction: waits (heartbeating) until every per-minute limit has room in
 * its window and records the start, or answers when there will be room if that is further off than
 * `maxWaitMs` (the caller then answers `throttled` and tries later).
 */
export async function startWhenMinuteAllows(sql: Sql, limits: RateLimit[], maxWaitMs: number): Promise<Date | undefined> {
  const giveUpAt = Date.now() + maxWaitMs;
  for (;;) {
    const roomAt = await startUnderMinuteLimits(sql, limits);
    if (!roomAt) return undefined;
    if (roomAt.getTime() > giveUpAt) return roomAt;
    await waitUntil(roomAt);
  }
}
