import type { Database } from "../db/index.ts";
import * as blobs from "../store/blobs.ts";
import * as jobs from "../store/jobs.ts";
import * as runs from "../store/runs.ts";

export interface RetentionResult {
  runs: number;
  jobs: number;
  blobs: number;
}

/**
 * Deletes runs (with their steps and events) and jobs that finished before `before`, then the blobs
 * nobody refers to any more: in batches of `batch` rows, at most `maxBatches` of each per pass, so
 * one pass never holds locks long or floods the WAL; the next pass carries on.
 */
export async function deleteExpired(
  db: Database,
  p: { before: Date; batch?: number; maxBatches?: number },
): Promise<RetentionResult> {
  const batch = p.batch ?? 1_000;
  const maxBatches = p.maxBatches ?? 10;
  const drain = async (step: () => Promise<number>) => {
    let total = 0;
    for (let i = 0; i < maxBatches; i++) {
      const n = await step();
      total += n;
      if (n < batch) break;
    }
    return total;
  };
  const deletedRuns = await drain(() => runs.deleteFinished(db, { before: p.before, limit: batch }));
  const deletedJobs = await drain(() => jobs.deleteFinished(db, { before: p.before, limit: batch }));
  const deletedBlobs = await drain(() => blobs.deleteUnreferenced(db, { before: p.before, limit: batch }));
  return { runs: deletedRuns, jobs: deletedJobs, blobs: deletedBlobs };
}
