// A completion batch touches a few hundred step rows by key. Those statements must go through the
// primary key however the planner weighs a table of tens of thousands of rows: at PostgreSQL's
// default random_page_cost they became hash joins over a sequential scan of every step row, ten
// times slower and growing with the table (src/db/postgres.ts sets the cost for our sessions).

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomUUID } from "node:crypto";
import { type Queryable, type SqlQuery, sql } from "../../src/db/index.ts";
import * as runs from "../../src/store/runs.ts";
import * as steps from "../../src/store/steps.ts";
import { createPostgresDatabase, type TestDatabase } from "../support/postgres.ts";

const STEP_NAMES = ["fetch-user", "enrich", "validate", "notify-1", "notify-2", "finish"];

/** The plan PostgreSQL picks for the statement `run` issues, with its actual parameters. */
async function planOf(db: Queryable, run: (q: Queryable) => Promise<unknown>): Promise<string> {
  let plan = "";
  await run({
    query: async <T>(q: SqlQuery) => {
      const rows = await db.query<{ "QUERY PLAN": string }>({
        ...q,
        text: `EXPLAIN ${q.text}`,
      } as unknown as SqlQuery);
      plan = rows.map((r) => r["QUERY PLAN"]).join("\n");
      return [] as T[];
    },
  });
  return plan;
}

describe("plans of batched step writes on postgres", () => {
  let t: TestDatabase;
  let keys: { runId: string; name: string }[];
  beforeAll(async () => {
    t = await createPostgresDatabase();
    // 5,000 runs of six steps: the size of a benchmark pass.
    const runIds = Array.from({ length: 5_000 }, () => randomUUID());
    await t.db.query(sql`
      INSERT INTO kronos_steps (run_id, name, status)
      SELECT r, n, 'scheduled' FROM unnest(${runIds}::uuid[]) AS r, unnest(${STEP_NAMES}::text[]) AS n`);
    await t.db.query(sql`ANALYZE kronos_steps`);
    keys = runIds.slice(0, 300).map((runId) => ({ runId, name: "enrich" }));
  });
  afterAll(() => t.close());

  test("our sessions price random reads for data in memory", async () => {
    expect(await t.db.query(sql`SHOW random_page_cost`)).toEqual([{ random_page_cost: "1.1" }]);
  });

  test("300 step rows are updated and read through the primary key, not a scan of 30,000", async () => {
    const plans = {
      markCompleted: await planOf(t.db, (q) =>
        steps.markCompleted(
          q,
          keys.map((k) => ({ ...k, outputHash: "0".repeat(64) })),
        ),
      ),
      schedule: await planOf(t.db, (q) =>
        steps.schedule(
          q,
          keys.map((k) => ({ ...k, jobType: "t", payload: {}, definitionId: 1, maxRetries: 3, timeoutMs: null })),
          { worker: "w", leaseMs: 1_000, count: 150 },
        ),
      ),
      markRunning: await planOf(t.db, (q) =>
        steps.markRunning(
          q,
          keys.map((k) => ({ ...k, attempt: 1 })),
        ),
      ),
      statuses: await planOf(t.db, (q) => steps.statuses(q, keys)),
      outputs: await planOf(t.db, (q) => steps.outputs(q, keys)),
    };
    for (const [statement, plan] of Object.entries(plans)) {
      expect({ statement, scans: plan.includes("Seq Scan on kronos_steps") }).toEqual({ statement, scans: false });
      expect({ statement, pkey: plan.includes("kronos_steps_pkey") }).toEqual({ statement, pkey: true });
    }
  });
});

describe("plans of run listing and idempotency on postgres", () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createPostgresDatabase();
    // 20,000 completed runs, 100 failed, 100 running, 100 of them with idempotency keys.
    await t.db.query(sql`
      INSERT INTO kronos_runs (definition_id, workflow_name, input_hash, status, finished_at, idempotency_key, created_at)
      SELECT 1, 'wf', ${"0".repeat(64)},
             CASE WHEN g <= 100 THEN 'failed' WHEN g <= 200 THEN 'running' ELSE 'completed' END,
             CASE WHEN g <= 100 OR g > 200 THEN now() END,
             CASE WHEN g % 200 = 0 THEN 'key-' || g END,
             now() - g * interval '1 second'
      FROM generate_series(1, 20200) AS g`);
    await t.db.query(sql`ANALYZE kronos_runs`);
  });
  afterAll(() => t.close());

  test("only keyed runs are in the idempotency index, and lookups by key use it", async () => {
    const [index] = await t.db.query<{ def: string }>(
      sql`SELECT indexdef AS def FROM pg_indexes WHERE indexname = 'kronos_runs_idempotency'`,
    );
    expect(index?.def).toEndWith("WHERE (idempotency_key IS NOT NULL)");
    const plan = await planOf(t.db, (q) =>
      q.query(sql`SELECT id FROM kronos_runs WHERE idempotency_key = ANY(${["key-200", "key-400"]}::text[])`),
    );
    expect(plan).toContain("kronos_runs_idempotency");
  });

  test("listing rare statuses uses the status index; completed runs walk the newest-first index", async () => {
    const failed = await planOf(t.db, (q) => runs.list(q, { status: "failed", limit: 50 }));
    const completed = await planOf(t.db, (q) => runs.list(q, { status: "completed", limit: 50 }));
    expect(failed).toContain("kronos_runs_by_status");
    expect(completed).toContain("kronos_runs_recent");
    expect([failed, completed].some((p) => p.includes("Seq Scan on kronos_runs"))).toBe(false);
  });
});
