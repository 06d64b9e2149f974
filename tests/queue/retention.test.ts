import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { sql } from "../../src/db/index.ts";
import { Kronos } from "../../src/kronos.ts";
import { silentLogger } from "../../src/log.ts";
import { deleteExpired } from "../../src/queue/retention.ts";
import * as blobs from "../../src/store/blobs.ts";
import { workflow } from "../../src/workflow/define.ts";
import { backends, type TestDatabase } from "../support/postgres.ts";
import { deferred, waitFor, waitForLockWait } from "../support/wait.ts";

for (const backend of backends) {
  describe(`retention on ${backend.name}`, () => {
    let t: TestDatabase;
    beforeAll(async () => {
      t = await backend.create();
    });
    afterAll(() => t.close());

    test("old finished runs, jobs and their blobs go in bounded batches; recent and shared ones stay", async () => {
      const k = await Kronos.open({ db: t.db, log: silentLogger, worker: { pollIntervalMs: 50 } });
      await k.register(workflow<number>("short", "v1").step("double", (n) => n * 2));
      k.handle("done", () => "ok");
      await k.start();
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push((await k.startRun({ workflowName: "short", input: i })).runId);
      for (const id of ids) await k.waitForRun(id);
      // Plain jobs keep their rows when they complete (workflow steps' rows go at completion).
      const done: number[] = [];
      for (let i = 0; i < 5; i++) done.push((await k.submit({ type: "done" })).job.id);
      await waitFor("the plain jobs to complete", async () => {
        const [row] = await t.db.query<{ n: number }>(
          sql`SELECT count(*)::int AS n FROM kronos_jobs WHERE id = ANY(${done}::bigint[]) AND state = 'completed'`,
        );
        return row?.n === 5;
      });
      // The fresh run shares its input and output with an old one (input 1 -> output 2).
      const fresh = (await k.startRun({ workflowName: "short", input: 1 })).runId;
      await k.waitForRun(fresh);
      await k.stop(0);
      await k.submit({ type: "plain" });
      const old = new Date(Date.now() - 10 * 86_400_000);
      await t.db.query(sql`UPDATE kronos_runs SET finished_at = ${old} WHERE id = ANY(${ids}::uuid[])`);
      await t.db.query(sql`UPDATE kronos_jobs SET finished_at = ${old} WHERE id = ANY(${done}::bigint[])`);
      await t.db.query(sql`UPDATE kronos_blobs SET created_at = ${old}`);
      const before = new Date(Date.now() - 7 * 86_400_000);
      const first = await deleteExpired(t.db, { before, batch: 2, maxBatches: 2 });
      expect(first.runs).toBe(4); // two batches of two: the rest waits for the next pass
      const second = await deleteExpired(t.db, { before, batch: 2, maxBatches: 2 });
      expect(second.runs).toBe(1);
      expect(first.jobs + second.jobs).toBe(5);
      const [left] = await t.db.query(sql`SELECT
        (SELECT count(*)::int FROM kronos_runs) AS runs, (SELECT count(*)::int FROM kronos_events WHERE run_id <> ${fresh}) AS "oldEvents",
        (SELECT count(*)::int FROM kronos_steps WHERE run_id <> ${fresh}) AS "oldSteps",
        (SELECT count(*)::int FROM kronos_jobs) AS jobs, (SELECT array_agg(data ORDER BY data::text) FROM kronos_blobs) AS blobs`);
      // Inputs 0, 2, 3, 4 and outputs 0, 4, 6, 8 were only the old runs'; 1 and 2 are the fresh run's.
      // No step job is left to delete: each went when its step completed. The plain one waits.
      expect(left).toEqual({ runs: 1, oldEvents: 0, oldSteps: 0, jobs: 1, blobs: [1, 2] });
    });
    // A writer that finds its value already stored refers to a blob that retention may judge
    // unreferenced: the writer's reference is not committed yet. These pin down that the writer's
    // lock and retention's two statements keep the blob (see blobs.storing).
    const longAgo = () => new Date(Date.now() - 10 * 86_400_000);
    const weekAgo = () => new Date(Date.now() - 7 * 86_400_000);
    const storedOld = async (value: unknown) => {
      const blob = blobs.toBlob(value);
      await blobs.put(t.db, [blob]);
      await t.db.query(sql`UPDATE kronos_blobs SET created_at = ${longAgo()} WHERE hash = ${blob.hash}`);
      return blob;
    };
    const refer = (tx: Parameters<Parameters<TestDatabase["db"]["transaction"]>[0]>[0], hash: string) =>
      tx.query(sql`INSERT INTO kronos_steps (run_id, name, status, output_hash)
                   VALUES (gen_random_uuid(), 'ref', 'completed', ${hash})`);
    const exists = async (hash: string) =>
      (await t.db.query(sql`SELECT 1 FROM kronos_blobs WHERE hash = ${hash}`)).length === 1;

    test.skipIf(backend.name === "pglite")(
      "retention running while a writer's reference is uncommitted leaves the blob the writer found",
      async () => {
        const blob = await storedOld({ shared: "written long ago" });
        const stored = deferred();
        const mayCommit = deferred();
        const writer = t.db.transaction(async (tx) => {
          await blobs.put(tx, [blob]); // already stored: nothing written, the row is held
          stored.resolve();
          await mayCommit.promise;
          await refer(tx, blob.hash);
        });
        await stored.promise;
        // Retention between the writer's store and its commit: the old code deleted the blob here.
        const during = await blobs.deleteUnreferenced(t.db, { before: weekAgo(), limit: 100 });
        mayCommit.resolve();
        await writer;
        expect(during).toBe(0);
        expect(await exists(blob.hash)).toBe(true);
        // Referenced now, so later passes keep it too.
        expect(await blobs.deleteUnreferenced(t.db, { before: weekAgo(), limit: 100 })).toBe(0);
        expect(await exists(blob.hash)).toBe(true);
      },
    );

    test.skipIf(backend.name === "pglite")(
      "a writer that meets retention's uncommitted delete waits for it and stores the value again",
      async () => {
        const blob = await storedOld({ shared: "about to be deleted" });
        // Retention's first statement has locked the blob and its delete is not committed yet.
        const deleted = deferred();
        const mayCommit = deferred();
        const retention = t.db.transaction(async (tx) => {
          await tx.query(sql`SELECT hash FROM kronos_blobs WHERE hash = ${blob.hash} FOR UPDATE`);
          await tx.query(sql`DELETE FROM kronos_blobs WHERE hash = ${blob.hash}`);
          deleted.resolve();
          await mayCommit.promise;
        });
        await deleted.promise;
        const writer = t.db.transaction(async (tx) => {
          await blobs.put(tx, [blob]); // waits for retention, then finds the row gone
          await refer(tx, blob.hash);
        });
        await waitForLockWait(t.db, "the writer to wait on retention's row lock");
        mayCommit.resolve();
        await retention;
        await writer;
        expect(await exists(blob.hash)).toBe(true);
        const [row] = await t.db.query<{ data: unknown }>(sql`SELECT data FROM kronos_blobs WHERE hash = ${blob.hash}`);
        expect(row?.data).toEqual({ shared: "about to be deleted" });
      },
    );

    test("hold reports the values retention removed and keeps the others for the transaction that refers to them", async () => {
      const kept = await storedOld({ hold: "kept" });
      const removed = await storedOld({ hold: "removed" });
      expect(await blobs.deleteUnreferenced(t.db, { before: weekAgo(), limit: 100 })).toBeGreaterThanOrEqual(2);
      expect(await exists(removed.hash)).toBe(false);
      await blobs.put(t.db, [kept]);
      await t.db.query(sql`UPDATE kronos_blobs SET created_at = ${longAgo()} WHERE hash = ${kept.hash}`);
      await t.db.transaction(async (tx) => {
        expect(await blobs.hold(tx, [kept.hash, removed.hash, kept.hash])).toEqual([removed.hash]);
        await refer(tx, kept.hash);
      });
      expect(await blobs.deleteUnreferenced(t.db, { before: weekAgo(), limit: 100 })).toBe(0);
      expect(await exists(kept.hash)).toBe(true);
    });
  });
}
