// The completer records each outcome once, fenced by attempt, even when one batch holds two
// outcomes of the same job: an attempt whose lease ran out during an outage, and the attempt the
// same worker claimed after the reaper took the job back (found by chaos scenario 2).

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type Database, sql } from "../../src/db/index.ts";
import { silentLogger } from "../../src/log.ts";
import { systemClock } from "../../src/queue/clock.ts";
import { Completer } from "../../src/queue/completer.ts";
import type { Settled } from "../../src/queue/pool.ts";
import { defaultRetryPolicy } from "../../src/queue/retry.ts";
import { HandlerRegistry } from "../../src/queue/types.ts";
import type { ClaimedJob } from "../../src/store/jobs.ts";
import * as jobs from "../../src/store/jobs.ts";
import { backends, type TestDatabase } from "../support/postgres.ts";

const claim = async (db: Database) => {
  const [job] = await jobs.claim(db, { worker: "w", limit: 1, leaseMs: 60_000, types: ["t"], definitionIds: [] });
  if (!job) throw new Error("nothing to claim");
  return job;
};
const ok = (job: ClaimedJob, result: unknown): Settled => ({ ok: true, job, result, startedAt: 0, finishedAt: 1 });

for (const backend of backends) {
  describe(`completer on ${backend.name}`, () => {
    let t: TestDatabase;
    beforeAll(async () => {
      t = await backend.create();
    });
    afterAll(() => t.close());

    test("a stale attempt's outcome in the same batch as the current one is refused", async () => {
      const db = t.db;
      const recorded: [number, number][] = [];
      const registry = new HandlerRegistry();
      registry.register("t", {
        run: () => null,
        async onCompleted(_tx, done) {
          for (const d of done) recorded.push([d.job.id, d.job.attempt]);
        },
      });
      const completer = new Completer({
        db,
        registry,
        retry: defaultRetryPolicy,
        clock: systemClock,
        log: silentLogger,
      });
      await jobs.submit(db, { type: "t" });
      const first = await claim(db);
      // Its lease runs out, the reaper takes it back, and attempt 2 is claimed.
      await db.query(sql`UPDATE kronos_jobs SET lease_expires_at = now() - interval '1 second' WHERE id = ${first.id}`);
      await jobs.reapExpired(db, { limit: 10 });
      const second = await claim(db);
      expect([second.id, second.attempt]).toEqual([first.id, 2]);
      await jobs.submit(db, { type: "t" });
      const other = await claim(db);
      // While one write is in flight, both outcomes queue up and go in the next batch together.
      completer.push(ok(other, "other"));
      completer.push(ok(first, "stale"));
      completer.push(ok(second, "fresh"));
      await completer.idle();
      expect(recorded).toEqual([
        [other.id, 1],
        [first.id, 2],
      ]);
      const row = await jobs.get(db, { id: first.id });
      expect({ state: row?.state, result: row?.result }).toEqual({ state: "completed", result: "fresh" });
    });
  });
}
