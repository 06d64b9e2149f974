// A completion batch touches a few hundred step rows by key. Those statements must go through the
// primary key however the planner weighs a table of tens of thousands of rows: at PostgreSQL's
// default random_page_cost they became hash joins over a sequential scan of every step row, ten
// times slower and growing with the table (src/db/postgres.ts sets the cost for our sessions).

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomUUID } from "node:crypto";
import { type Queryable, type SqlQuery, sql } from "../../src/db/index.ts";
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
