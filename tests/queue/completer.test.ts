// The completer records each outcome once, fenced by attempt, even when one batch holds two
// outcomes of the same job: an attempt whose lease ran out during an outage, and the attempt the
// same worker claimed after the reaper took the job back (found by chaos scenario 2). With several
// lanes, outcomes of different lane keys commit in concurrent transactions and those of one key in
// order; a batch whose transaction the server rolls back to break a deadlock is written again.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type Database, type Queryable, sql } from "../../src/db/index.ts";
import { silentLogger } from "../../src/log.ts";
import { systemClock } from "../../src/queue/clock.ts";
import { Completer, laneIndex } from "../../src/queue/completer.ts";
import type { Settled } from "../../src/queue/pool.ts";
import { defaultRetryPolicy } from "../../src/queue/retry.ts";
import { HandlerRegistry } from "../../src/queue/types.ts";
import type { ClaimedJob } from "../../src/store/jobs.ts";
import * as jobs from "../../src/store/jobs.ts";
import { backends, type TestDatabase } from "../support/postgres.ts";
import { deferred, waitFor, waitForLockWait } from "../support/wait.ts";

const claim = async (db: Database, type = "t") => {
  const [job] = await jobs.claim(db, { worker: "w", limit: 1, leaseMs: 60_000, types: [type], definitionIds: [] });
  if (!job) throw new Error("nothing to claim");
  return job;
};
const completerFor = (
  db: Database,
  registry: HandlerRegistry,
  o: { lanes?: number; onCommitted?(done: { completed: { job: ClaimedJob }[] }): void } = {},
) => new Completer({ db, registry, retry: defaultRetryPolicy, clock: systemClock, log: silentLogger, ...o });
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

    // PostgreSQL only: PGlite has one connection, so its transactions never overlap.
    test.skipIf(backend.name === "pglite")(
      "two lanes: another key's outcome commits while a lane's transaction is open; the same key's waits",
      async () => {
        const db = t.db;
        // Keys "k0", "k1", … until one lands in each lane, and a second key in the first one's lane.
        const keys = Array.from({ length: 20 }, (_, i) => `k${i}`);
        const held = keys[0] as string;
        const sameLane = keys.find((k) => k !== held && laneIndex(k, 2) === laneIndex(held, 2)) as string;
        const otherLane = keys.find((k) => laneIndex(k, 2) !== laneIndex(held, 2)) as string;
        const gate = deferred();
        let holding = false;
        const registry = new HandlerRegistry();
        registry.register<{ key: string }>("keyed", {
          run: () => null,
          laneKey: (job) => (job.payload as { key: string }).key,
          async onCompleted(_tx, done) {
            if (done.some((d) => (d.job.payload as { key: string }).key === held)) {
              holding = true;
              await gate.promise; // keeps this lane's transaction open
            }
          },
        });
        const committed: string[] = [];
        const completer = completerFor(db, registry, {
          lanes: 2,
          onCommitted: ({ completed }) => {
            for (const c of completed) committed.push((c.job.payload as { key: string }).key);
          },
        });
        const job = async (key: string) => {
          await jobs.submit(db, { type: "keyed", payload: { key } });
          return claim(db, "keyed");
        };
        const [first, second, third] = [await job(held), await job(otherLane), await job(sameLane)];
        completer.push(ok(first as ClaimedJob, null));
        await waitFor("the first lane's transaction held open", () => holding);
        completer.push(ok(second as ClaimedJob, null));
        completer.push(ok(third as ClaimedJob, null));
        await waitFor("the other lane's outcome committed", () => committed.includes(otherLane));
        expect(committed).toEqual([otherLane]);
        gate.resolve();
        await completer.idle();
        expect(committed).toEqual([otherLane, held, sameLane]);
      },
    );

    // PostgreSQL only: a deadlock needs two connections.
    test.skipIf(backend.name === "pglite")(
      "a batch whose transaction is a deadlock's victim is written again, whole",
      async () => {
        const db = t.db;
        await db.query(sql`CREATE TABLE IF NOT EXISTS deadlock_probe (id int PRIMARY KEY)`);
        await db.query(sql`INSERT INTO deadlock_probe VALUES (1), (2) ON CONFLICT DO NOTHING`);
        const probe = sql`SELECT id FROM deadlock_probe WHERE id = 1 FOR UPDATE`;
        let attempts = 0;
        const hookHoldsRow1 = deferred();
        const registry = new HandlerRegistry();
        registry.register("victim", {
          run: () => null,
          async onCompleted(tx, done) {
            if (done.length < 2) return; // the batch written first, alone
            attempts++;
            // First attempt: row 1, then row 2, which the other transaction below holds.
            await tx.query(probe);
            if (attempts === 1) hookHoldsRow1.resolve();
            await tx.query(sql`SELECT id FROM deadlock_probe WHERE id = 2 FOR UPDATE`);
          },
        });
        const batches: number[] = [];
        const completer = completerFor(db, registry, {
          onCommitted: ({ completed }) => batches.push(completed.length),
        });
        const victims: ClaimedJob[] = [];
        for (let i = 0; i < 3; i++) {
          await jobs.submit(db, { type: "victim" });
          victims.push(await claim(db, "victim"));
        }
        const [alone, ...pair] = victims as [ClaimedJob, ClaimedJob, ClaimedJob];
        const other = await db.reserve();
        try {
          await other.query(sql`BEGIN`);
          await other.query(sql`SELECT id FROM deadlock_probe WHERE id = 2 FOR UPDATE`);
          // While the first is being written, the other two queue up and go together.
          completer.push(ok(alone, null));
          for (const v of pair) completer.push(ok(v, null));
          await hookHoldsRow1.promise;
          // Once the hook waits for row 2, ask for row 1: the hook waited first, so its deadlock
          // check runs first and its transaction is the one rolled back.
          await waitForLockWait(db, "the hook waiting for row 2", "deadlock_probe WHERE id = 2");
          await other.query(probe);
          await other.query(sql`COMMIT`);
        } finally {
          await other.release();
        }
        await completer.idle();
        // Rolled back once, then written again as the same batch of two (not one by one).
        expect(attempts).toBe(2);
        expect(batches).toEqual([1, 2]);
        for (const v of victims) expect((await jobs.get(db, { id: v.id }))?.state).toBe("completed");
      },
    );
  });
}
