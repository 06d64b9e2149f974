import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type Database, type SqlQuery, sql } from "../../src/db/index.ts";
import * as jobs from "../../src/store/jobs.ts";
import { queueStatements } from "../../src/store/jobs.ts";
import { createPostgresDatabase, type TestDatabase } from "../support/postgres.ts";

// The queue's hot statements must keep sane plans whatever the statistics say. The trap this pins
// down: statistics taken right after a burst of submits (every job pending) claim that no job is
// running, and a batch of fenced completions was then planned as "scan the one running job, then
// compare it with every row of the batch": a nested loop whose cost grew with running jobs × batch
// size, which took the no-op benchmark from ~20,000 to under 1,000 jobs/s.

interface PlanNode {
  "Node Type": string;
  "Relation Name"?: string;
  "Index Name"?: string;
  Plans?: PlanNode[];
}

async function plan(db: Database, statement: SqlQuery): Promise<PlanNode> {
  const [row] = await db.query<{ "QUERY PLAN": [{ Plan: PlanNode }] }>(sql`EXPLAIN (FORMAT JSON) ${statement}`);
  if (!row) throw new Error("EXPLAIN returned nothing");
  return row["QUERY PLAN"][0].Plan;
}

function nodes(root: PlanNode): PlanNode[] {
  return [root, ...(root.Plans ?? []).flatMap(nodes)];
}

const onJobs = (n: PlanNode | undefined) => n?.["Relation Name"] === "kronos_jobs";
const indexesUsed = (root: PlanNode) => new Set(nodes(root).flatMap((n) => (n["Index Name"] ? [n["Index Name"]] : [])));
/** A nested loop driven by a scan of kronos_jobs repeats its inner side once per job row found. */
const loopsOverJobs = (root: PlanNode) =>
  nodes(root).some((n) => n["Node Type"] === "Nested Loop" && onJobs(n.Plans?.[0]) && !onJobs(n.Plans?.[1]));

describe("queue statement plans on postgres, statistics taken with every job pending", () => {
  let t: TestDatabase;
  let db: Database;
  let running: jobs.ClaimedJob[];
  beforeAll(async () => {
    t = await createPostgresDatabase();
    db = t.db;
    for (let i = 0; i < 20; i++) {
      await jobs.submitMany(
        db,
        Array.from({ length: 1_000 }, () => ({ type: "noop" })),
      );
    }
    await db.query(sql`ANALYZE kronos_jobs`);
    running = await jobs.claim(db, { worker: "w", limit: 4_000, leaseMs: 60_000, types: ["noop"], definitionIds: [] });
  });
  afterAll(() => t.close());

  test("the setup has thousands of running jobs the statistics do not know about", () => {
    expect(running.length).toBe(4_000);
  });

  for (const size of [1, 50, 500]) {
    test(`completing and failing ${size} jobs at once never loops over the job table`, async () => {
      const batch = running.slice(0, size);
      const completion = await plan(db, queueStatements.complete(batch.map((j) => ({ id: j.id, attempt: j.attempt }))));
      const failure = await plan(
        db,
        queueStatements.fail(batch.map((j) => ({ id: j.id, attempt: j.attempt, error: "x", retryAt: null }))),
      );
      const removal = await plan(
        db,
        queueStatements.completeRemoving(batch.map((j) => ({ id: j.id, attempt: j.attempt, remove: true }))),
      );
      expect(loopsOverJobs(completion)).toBe(false);
      expect(loopsOverJobs(removal)).toBe(false);
      expect(indexesUsed(completion).has("kronos_jobs_pkey")).toBe(true);
      expect(indexesUsed(removal).has("kronos_jobs_pkey")).toBe(true);
      expect(loopsOverJobs(failure)).toBe(false);
      expect(indexesUsed(completion).has("kronos_jobs_lease")).toBe(false);
    });
  }

  test("lease renewal goes by primary key, the reaper by the lease index, claims by the claim index", async () => {
    const renew = await plan(
      db,
      queueStatements.renewLeases({ worker: "w", ids: running.slice(0, 50).map((j) => j.id), leaseMs: 1 }),
    );
    expect([...indexesUsed(renew)]).toEqual(["kronos_jobs_pkey"]);
    expect(indexesUsed(await plan(db, queueStatements.reapExpired({ limit: 100 }))).has("kronos_jobs_lease")).toBe(
      true,
    );
    const claim = await plan(
      db,
      queueStatements.claim({ worker: "w", limit: 50, leaseMs: 1, types: ["noop"], definitionIds: [] }),
    );
    expect(indexesUsed(claim).has("kronos_jobs_claim")).toBe(true);
    expect(nodes(claim).some((n) => n["Node Type"] === "Sort")).toBe(false);
  });
});
