// Row writes per step are what bound workflow throughput (docs/benchmarks.md). This pins how many
// a run makes, counted by triggers installed only in this test's database, so a change that adds
// writes to the hot path shows up here and not only as a slower benchmark.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type Database, sql, staticSql } from "../../src/db/index.ts";
import { Kronos } from "../../src/kronos.ts";
import { silentLogger } from "../../src/log.ts";
import { workflow } from "../../src/workflow/define.ts";
import { backends, type TestDatabase } from "../support/postgres.ts";

// The benchmark's shape: a chain into a fan-out of three and a fan-in.
const dag6 = workflow<{ id: string }>("dag6-writes", "v1")
  .step("a", ({ id }) => ({ id }))
  .step("b", ({ id }) => ({ id, b: true }), { after: ["a"] })
  .step("c1", ({ id }) => `${id}-1`, { after: ["b"] })
  .step("c2", ({ id }) => `${id}-2`, { after: ["b"] })
  .step("c3", ({ id }) => `${id}-3`, { after: ["b"] })
  .step("d", ({ c1, c2, c3 }) => [c1, c2, c3], { after: ["c1", "c2", "c3"] });

const COUNT_WRITES = `
  CREATE TABLE test_writes (tbl text NOT NULL, op text NOT NULL);
  CREATE FUNCTION test_count_write() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    INSERT INTO test_writes VALUES (TG_TABLE_NAME, TG_OP);
    RETURN NULL;
  END $$;
  CREATE TRIGGER test_runs AFTER INSERT OR UPDATE ON kronos_runs FOR EACH ROW EXECUTE FUNCTION test_count_write();
  CREATE TRIGGER test_steps AFTER INSERT OR UPDATE ON kronos_steps FOR EACH ROW EXECUTE FUNCTION test_count_write();
  CREATE TRIGGER test_events AFTER INSERT ON kronos_event_batches FOR EACH ROW EXECUTE FUNCTION test_count_write();`;

for (const backend of backends) {
  describe(`row writes on ${backend.name}`, () => {
    let t: TestDatabase;
    let db: Database;
    beforeAll(async () => {
      t = await backend.create();
      db = t.db;
      for (const statement of COUNT_WRITES.split(/;\s*(?=CREATE)/)) await db.query(staticSql(statement));
    });
    afterAll(() => t.close());

    test("a six-step run updates its run row once, each step row at most three times, and logs one row per transaction", async () => {
      const k = await Kronos.open({ db, log: silentLogger, worker: { concurrency: 10, pollIntervalMs: 50 } });
      try {
        await k.register(dag6);
        await k.start();
        const { runId } = await k.startRun({ workflowName: "dag6-writes", input: { id: "x" } });
        const run = await k.waitForRun(runId);
        expect({ status: run.status, output: run.output }).toEqual({
          status: "completed",
          output: ["x-1", "x-2", "x-3"],
        });
      } finally {
        await k.stop(0);
      }
      const counts = await db.query<{ tbl: string; op: string; n: number }>(
        sql`SELECT tbl, op, count(*)::int AS n FROM test_writes GROUP BY tbl, op ORDER BY tbl, op`,
      );
      const n = (tbl: string, op: string) => counts.find((c) => c.tbl === tbl && c.op === op)?.n ?? 0;
      // Inserted once; updated only when it finishes (seq numbers and step counts are not kept on it).
      expect({ inserts: n("kronos_runs", "INSERT"), updates: n("kronos_runs", "UPDATE") }).toEqual({
        inserts: 1,
        updates: 1,
      });
      // Each step: scheduled (with the run for roots), running, completed; handed-off steps are
      // scheduled and running in one write. No dependency counters.
      expect(n("kronos_steps", "INSERT")).toBe(6);
      expect(n("kronos_steps", "UPDATE")).toBeGreaterThanOrEqual(12);
      expect(n("kronos_steps", "UPDATE")).toBeLessThanOrEqual(18);
      // The log: run_started, then scheduled/started/completed per step, then run_completed, with
      // seq 1..20; stored one row per run per transaction: the start, a's claim, the completions
      // of a (b handed off) and b (c1-c3 handed off), of the c steps (one to three batches), of d.
      const logged = await db.query<{ seq: number; type: string }>(
        sql`SELECT seq, type FROM kronos_events ORDER BY seq`,
      );
      expect(logged.map((e) => e.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
      expect([logged[0]?.type, logged[19]?.type]).toEqual(["run_started", "run_completed"]);
      expect(n("kronos_event_batches", "INSERT")).toBeGreaterThanOrEqual(6);
      expect(n("kronos_event_batches", "INSERT")).toBeLessThanOrEqual(8);
    });
  });
}
