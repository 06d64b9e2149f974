import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { type Database, sql } from "../../src/db/index.ts";
import { backoffCeilingMs, nextRunAt } from "../../src/queue/retry.ts";
import * as jobs from "../../src/store/jobs.ts";
import * as factory from "../support/factory.ts";
import { backends, type TestDatabase, truncateAll } from "../support/postgres.ts";

const claimAll = (db: Database, limit = 100) =>
  jobs.claim(db, { worker: "w1", limit, leaseMs: 30_000, types: ["test"], definitionIds: [] });

for (const backend of backends) {
  describe(`job store on ${backend.name}`, () => {
    let t: TestDatabase;
    let db: Database;
    beforeAll(async () => {
      t = await backend.create();
      db = t.db;
    });
    beforeEach(() => truncateAll(db));
    afterAll(() => t.close());

    test("claims by priority (10 first), then run_at, then id", async () => {
      const past = (s: number) => new Date(Date.now() - s * 1000);
      const low = await factory.job(db, { priority: 1 });
      const highLater = await factory.job(db, { priority: 10, runAt: past(1) });
      const highEarlier = await factory.job(db, { priority: 10, runAt: past(5) });
      const mid = await factory.job(db, { priority: 5 });
      const claimed = await claimAll(db);
      expect(claimed.map((j) => j.id)).toEqual([highEarlier.id, highLater.id, mid.id, low.id]);
      expect(claimed.every((j) => j.attempt === 1)).toBe(true);
    });

    test("a job is not claimed before its run_at, nor by a worker without its type", async () => {
      await factory.job(db, { runAt: new Date(Date.now() + 60_000) });
      await factory.job(db, { type: "other" });
      expect(await claimAll(db)).toEqual([]);
    });

    test("claim takes at most the limit and never the same job twice", async () => {
      for (let i = 0; i < 5; i++) await factory.job(db);
      const a = await claimAll(db, 3);
      const b = await claimAll(db, 3);
      expect(a.length).toBe(3);
      expect(b.length).toBe(2);
      expect(new Set([...a, ...b].map((j) => j.id)).size).toBe(5);
    });

    test("an idempotency key returns the unfinished job; once finished the key is free", async () => {
      const first = await jobs.submit(db, { type: "test", idempotencyKey: "k1", payload: { n: 1 } });
      const again = await jobs.submit(db, { type: "test", idempotencyKey: "k1", payload: { n: 2 } });
      expect(again).toEqual({ job: first.job, existing: true });
      const [claimed] = await claimAll(db);
      await jobs.complete(db, [{ id: claimed?.id ?? 0, attempt: 1 }]);
      const third = await jobs.submit(db, { type: "test", idempotencyKey: "k1" });
      expect(third.existing).toBe(false);
      expect(third.job.id).not.toBe(first.job.id);
    });

    test("submit joins the caller's transaction: a rollback removes the job", async () => {
      await expect(
        db.transaction(async (tx) => {
          await jobs.submit(tx, { type: "test" });
          throw new Error("caller changed its mind");
        }),
      ).rejects.toThrow("caller changed its mind");
      expect(await jobs.list(db, { limit: 10 })).toEqual([]);
    });

    test("a late completion from a worker that lost its lease is refused", async () => {
      await factory.job(db);
      const [first] = await claimAll(db);
      if (!first) throw new Error("nothing claimed");
      // Lease runs out; the reaper takes it back and another worker claims attempt 2.
      await db.query(sql`UPDATE kronos_jobs SET lease_expires_at = now() - interval '1 second' WHERE id = ${first.id}`);
      const reaped = await jobs.reapExpired(db, { limit: 10 });
      expect(reaped.map((r) => [r.id, r.dead])).toEqual([[first.id, false]]);
      const [second] = await claimAll(db);
      expect(second?.attempt).toBe(2);
      expect(await jobs.complete(db, [{ id: first.id, attempt: 1, result: "stale" }])).toEqual(new Map());
      expect(await jobs.complete(db, [{ id: first.id, attempt: 2, result: "fresh" }])).toEqual(
        new Map([[first.id, 2]]),
      );
      const row = await jobs.get(db, { id: first.id });
      expect({ state: row?.state, result: row?.result, attempt: row?.attempt }).toEqual({
        state: "completed",
        result: "fresh",
        attempt: 2,
      });
    });

    test("a completion marked remove deletes the row, fenced by attempt like any other", async () => {
      await factory.job(db);
      await factory.job(db);
      const [kept, gone] = await claimAll(db);
      if (!kept || !gone) throw new Error("nothing claimed");
      expect(await jobs.complete(db, [{ id: gone.id, attempt: 2, remove: true }])).toEqual(new Map());
      expect(await jobs.get(db, { id: gone.id })).toBeDefined();
      expect(
        await jobs.complete(db, [
          { id: kept.id, attempt: 1, result: "kept" },
          { id: gone.id, attempt: 1, remove: true },
        ]),
      ).toEqual(
        new Map([
          [kept.id, 1],
          [gone.id, 1],
        ]),
      );
      expect(await jobs.get(db, { id: gone.id })).toBeUndefined();
      expect((await jobs.get(db, { id: kept.id }))?.state).toBe("completed");
      // Gone means gone: a second outcome for it is refused.
      expect(await jobs.complete(db, [{ id: gone.id, attempt: 1, remove: true }])).toEqual(new Map());
    });

    test("failures retry within the backoff bounds, then go dead, and can be re-queued", async () => {
      const policy = { baseMs: 1_000, capMs: 60_000 };
      const created = await factory.job(db, { maxRetries: 2 });
      for (let attempt = 1; attempt <= 3; attempt++) {
        const [claimed] = await claimAll(db);
        if (!claimed) throw new Error(`attempt ${attempt} was not claimable`);
        expect(claimed.attempt).toBe(attempt);
        const now = new Date();
        const retryAt = nextRunAt(policy, claimed, now);
        if (attempt <= 2) {
          const delay = (retryAt?.getTime() ?? -1) - now.getTime();
          expect(delay).toBeGreaterThanOrEqual(0);
          expect(delay).toBeLessThan(backoffCeilingMs(policy, attempt));
        } else {
          expect(retryAt).toBeNull();
        }
        await jobs.fail(db, [{ id: claimed.id, attempt, error: `boom ${attempt}`, retryAt }]);
        // Make the retry due now instead of waiting out the backoff.
        await db.query(sql`UPDATE kronos_jobs SET run_at = now() WHERE id = ${created.id} AND state = 'pending'`);
      }
      const dead = await jobs.list(db, { state: "dead", limit: 10 });
      expect(dead.map((j) => [j.id, j.attempt, j.lastError])).toEqual([[created.id, 3, "boom 3"]]);
      const requeued = await jobs.retryDead(db, { id: created.id });
      expect({ state: requeued?.state, attempt: requeued?.attempt }).toEqual({ state: "pending", attempt: 0 });
      expect((await claimAll(db)).map((j) => j.id)).toEqual([created.id]);
    });

    test("backoff ceilings double from the base up to the cap", () => {
      const policy = { baseMs: 100, capMs: 1_000 };
      expect([1, 2, 3, 4, 5, 6].map((a) => backoffCeilingMs(policy, a))).toEqual([100, 200, 400, 800, 1_000, 1_000]);
      expect(nextRunAt(policy, { attempt: 3, maxRetries: 5 }, new Date(0), () => 0.5)).toEqual(new Date(200));
    });

    test("a lease that expires on the last attempt sends the job to dead", async () => {
      const created = await factory.job(db, { maxRetries: 0 });
      await claimAll(db);
      await db.query(
        sql`UPDATE kronos_jobs SET lease_expires_at = now() - interval '1 second' WHERE id = ${created.id}`,
      );
      expect((await jobs.reapExpired(db, { limit: 10 })).map((r) => r.dead)).toEqual([true]);
      expect((await jobs.get(db, { id: created.id }))?.state).toBe("dead");
    });

    test("cancel stops a pending job from being claimed; finished jobs cannot be cancelled", async () => {
      const pending = await factory.job(db);
      const done = await factory.job(db, { state: "completed" });
      expect((await jobs.cancel(db, { id: pending.id }))?.state).toBe("cancelled");
      expect(await jobs.cancel(db, { id: done.id })).toBeUndefined();
      expect(await claimAll(db)).toEqual([]);
    });

    test("release hands a job back without counting the attempt", async () => {
      const created = await factory.job(db);
      await claimAll(db);
      expect(await jobs.release(db, { worker: "w1", ids: [created.id] })).toBe(1);
      const row = await jobs.get(db, { id: created.id });
      expect({ state: row?.state, attempt: row?.attempt }).toEqual({ state: "pending", attempt: 0 });
    });

    test("lease renewal covers only jobs the worker holds", async () => {
      const mine = await factory.job(db);
      const theirs = await factory.job(db, { state: "running", leaseOwner: "w2" });
      await claimAll(db);
      expect(await jobs.renewLeases(db, { worker: "w1", ids: [mine.id, theirs.id], leaseMs: 5_000 })).toEqual(
        new Set([mine.id]),
      );
    });

    test("submitMany keeps input order and counts as due", async () => {
      const ids = await jobs.submitMany(db, [
        { type: "test", payload: 1 },
        { type: "test", payload: 2, priority: 9 },
      ]);
      expect(ids.length).toBe(2);
      expect(ids[0]).toBeLessThan(ids[1] as number);
      expect(await jobs.countDue(db)).toBe(2);
    });
  });
}
