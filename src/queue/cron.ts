import { Cron } from "croner";
import type { Database } from "../db/index.ts";
import * as cronStore from "../store/cron.ts";
import * as jobs from "../store/jobs.ts";
import type { Clock } from "./clock.ts";

/** Most missed ticks of one entry enqueued in one pass (after a long outage the rest are skipped). */
const MAX_CATCH_UP = 100;

/** Validates a cron expression (5 fields, or 6 with seconds) and returns its next tick after `after`. */
export function nextTick(schedule: string, after: Date): Date {
  let pattern: Cron;
  try {
    pattern = new Cron(schedule, { timezone: "UTC", paused: true });
  } catch (error) {
    throw new Error(`invalid cron schedule "${schedule}": ${(error as Error).message}`);
  }
  const next = pattern.nextRun(after);
  if (!next) throw new Error(`cron schedule "${schedule}" never fires after ${after.toISOString()}`);
  return next;
}

/**
 * Enqueues every due tick once: each tick advances the entry by compare-and-set in the same
 * transaction as its job insert, and the job carries an idempotency key of name and tick time.
 * Returns how many jobs were enqueued.
 */
export async function enqueueDueTicks(db: Database, clock: Clock): Promise<number> {
  const now = clock.now();
  let enqueued = 0;
  for (const entry of await cronStore.due(db, { now, limit: 100 })) {
    let tick = entry.nextRunAt;
    for (let i = 0; i < MAX_CATCH_UP && tick <= now; i++) {
      const from = tick;
      const to = nextTick(entry.schedule, from);
      const took = await db.transaction(async (tx) => {
        if (!(await cronStore.advance(tx, { name: entry.name, from, to }))) return false;
        await jobs.submit(tx, {
          type: entry.type,
          payload: entry.payload,
          priority: entry.priority,
          maxRetries: entry.maxRetries,
          idempotencyKey: `cron:${entry.name}:${from.toISOString()}`,
        });
        return true;
      });
      if (!took) break; // another node moved it first
      enqueued++;
      tick = to;
    }
    if (tick <= now) {
      // Too far behind: jump to the next tick after now rather than flood the queue.
      await cronStore.advance(db, { name: entry.name, from: tick, to: nextTick(entry.schedule, now) });
    }
  }
  return enqueued;
}
