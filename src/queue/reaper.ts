import type { Database } from "../db/index.ts";
import * as jobs from "../store/jobs.ts";
import { groupByType } from "./completer.ts";
import type { FailedJob, HandlerRegistry } from "./types.ts";

/**
 * Takes back jobs whose worker stopped renewing its lease (crashed, frozen, cut off), in the same
 * transaction as their types' onFailed hooks, so a workflow step's retry is recorded with it.
 * Returns how many jobs were taken back.
 */
export async function reapExpiredLeases(db: Database, registry: HandlerRegistry, limit = 500): Promise<number> {
  return db.transaction(async (tx) => {
    const reaped = await jobs.reapExpired(tx, { limit });
    const now = Date.now();
    const failed: FailedJob[] = reaped.map((job) => ({
      job,
      error: "lease expired: the worker running it stopped (crashed or lost its database connection)",
      retryAt: job.dead ? null : new Date(now),
      startedAt: now,
      finishedAt: now,
    }));
    for (const [type, list] of groupByType(failed)) await registry.get(type)?.onFailed?.(tx, list);
    return reaped.length;
  });
}
