// The completer records each outcome once, fenced by attempt, even when one batch holds two
// outcomes of the same job: an attempt whose lease ran out during an outage, and the attempt the
// same worker claimed after the reaper took the job back (found by chaos scenario 2).

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type Database, type Queryable, sql } from "../../src/db/index.ts";
import { silentLogger } from "../../src/log.ts";
import { systemClock } from "../../src/queue/clock.ts";
import { Completer } from "../../src/queue/completer.ts";
import type { Settled } from "../../src/queue/pool.ts";
import { defaultRetryPolicy } from "../../src/queue/retry.ts";
import { HandlerRegistry } from "../../src/queue/types.ts";
import type { ClaimedJob } from "../../src/store/jobs.ts";
import * as jobs from "../../src/store/jobs.ts";
import { backends, type TestDatabase } from "../support/postgres.ts";

const claim = async (db: Database, type = "t") => {
  const [job] = await jobs.claim(db, { worker: "w", limit: 1, leaseMs: 60_000, types: [type], definitionIds: [] });
  if (!job) throw new Error("nothing to claim");
  return job;
};
const completerFor = (db: Database, registry: HandlerRegistry) =>
  new Completer({ db, registry, retry: defaultRetryPolicy, clock: systemClock, log: silentLogger });
/** A job whose first attempt's lease ran out: the reaper took it back and attempt 2 was claimed. */
const staleAndFresh = async (db: Database, type = "t") => {
  await jobs.submit(db, { type });
  const stale = await claim(db, type);
  await db.query(sql`UPDATE kronos_jobs SET lease_expires_at = now() - interval '1 second' WHERE id = ${stale.id}`);
  await jobs.reapExpired(db, { limit: 10 });
  return { stale, fresh: await claim(db, type) };
};
const ok = (job: ClaimedJob, result: unknown): Settled => ({ ok: true, job, result, startedAt: 0, finishedAt: 1 });
const failedWith = (job: ClaimedJob, error: string): Settled => ({
  ok: false,
  job,
  error,
  startedAt: 0,
  finishedAt: 1,
});
const txid = async (tx: Queryable) => (await tx.query<{ x: string }>(sql`SELECT txid_current()::text AS x`))[0]?.x;

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
      const completer = completerFor(db, registry);
      const { stale: first, fresh: second } = await staleAndFresh(db);
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

    test("prepareOutcomes sees the whole batch, refused outcomes too, in the transaction that records it", async () => {
      const db = t.db;
      const seen: { completed: number[]; failed: number[]; tx?: string }[] = [];
      const handed: { done: [number, number][]; prepared: unknown; tx?: string }[] = [];
      const registry = new HandlerRegistry();
      registry.register<unknown>("p", {
        run: () => null,
        async prepareOutcomes(tx, completed, failed) {
          const entry = { completed: completed.map((c) => c.job.id), failed: failed.map((f) => f.job.id), tx: "" };
          entry.tx = (await txid(tx)) ?? "";
          seen.push(entry);
          return { token: seen.length };
        },
        async onCompleted(tx, done, _handoff, prepared) {
          handed.push({ done: done.map((d) => [d.job.id, d.job.attempt]), prepared, tx: await txid(tx) });
        },
      });
      const completer = completerFor(db, registry);
      const { stale, fresh } = await staleAndFresh(db, "p");
      await jobs.submit(db, { type: "p", maxRetries: 0 });
      const failing = await claim(db, "p");
      completer.push(ok(stale, "stale"));
      completer.push(ok(fresh, "fresh"));
      completer.push(failedWith(failing, "boom"));
      await completer.idle();
      // Every outcome was prepared once (the stale and the fresh attempt share a job id).
      const all = seen.flatMap((b) => [...b.completed, ...b.failed]);
      expect(all.sort()).toEqual([stale.id, fresh.id, failing.id].sort());
      // Each handler call ran in the transaction that recorded its batch, with that batch's result.
      for (const h of handed) {
        const i = seen.findIndex((s) => s.tx === h.tx);
        expect(i).toBeGreaterThanOrEqual(0);
        expect(h.prepared).toEqual({ token: i + 1 });
      }
      // The refused stale attempt was prepared but not handed to onCompleted.
      expect(handed.flatMap((h) => h.done)).toEqual([[fresh.id, 2]]);
      expect((await jobs.get(db, { id: failing.id }))?.state).toBe("dead");
    });
  });
}
