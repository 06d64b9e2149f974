import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { sql } from "../../src/db/index.ts";
import { Kronos } from "../../src/kronos.ts";
import { silentLogger } from "../../src/log.ts";
import { deleteExpired } from "../../src/queue/retention.ts";
import { workflow } from "../../src/workflow/define.ts";
import { backends, type TestDatabase } from "../support/postgres.ts";
import { waitFor } from "../support/wait.ts";

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
  });
}
