// Every writer of a run takes its run's row lock, and a transaction that takes several takes them in
// id order, so two writers can never wait for each other. A batch of step outcomes holds completions
// and failures of different runs: all their runs are locked by one statement, in id order, before
// anything is written. (Locking the completed steps' runs first and the failed steps' runs after
// deadlocked against a writer that took the same runs in id order.) PostgreSQL only: it takes two
// connections.

import { afterAll, beforeAll, expect, test } from "bun:test";
import { sql } from "../../src/db/index.ts";
import { silentLogger } from "../../src/log.ts";
import { systemClock } from "../../src/queue/clock.ts";
import { Completer } from "../../src/queue/completer.ts";
import { defaultRetryPolicy } from "../../src/queue/retry.ts";
import { type CompletedJob, type FailedJob, HandlerRegistry } from "../../src/queue/types.ts";
import * as jobs from "../../src/store/jobs.ts";
import { workflow } from "../../src/workflow/define.ts";
import { Engine } from "../../src/workflow/engine.ts";
import { WorkflowRegistry } from "../../src/workflow/registry.ts";
import { createPostgresDatabase, type TestDatabase } from "../support/postgres.ts";
import { waitFor } from "../support/wait.ts";

let t: TestDatabase;
beforeAll(async () => {
  t = await createPostgresDatabase();
});
afterAll(() => t.close());

test("a batch with a completion and a failure locks both runs in id order, before writing either", async () => {
  const db = t.db;
  const handlers = new HandlerRegistry();
  handlers.register("plain", () => null);
  const engine = new Engine(db, new WorkflowRegistry(), handlers);
  const wf = workflow<{ n: number }>("lock-order", "v1").step("only", ({ n }) => n, { retries: 0 });
  await engine.load([wf]);
  const started = [await engine.start({ workflowName: "lock-order", input: { n: 1 } })];
  started.push(await engine.start({ workflowName: "lock-order", input: { n: 2 } }));
  // `low` sorts before `high`: the order every writer locks them in.
  const [low, high] = started.map((s) => s.runId).sort();
  const claimed = await jobs.claim(db, {
    worker: "w",
    limit: 2,
    leaseMs: 60_000,
    types: [],
    definitionIds: [engine.workflows.latest("lock-order")?.id as number],
  });
  const jobOf = (runId: string) => claimed.find((j) => (j.payload as { runId: string }).runId === runId);
  const completing = jobOf(high as string);
  const failing = jobOf(low as string);
  if (!completing || !failing) throw new Error("both root steps should have been claimed");

  const batches: { completed: CompletedJob[]; failed: FailedJob[] }[] = [];
  const completer = new Completer({
    db,
    registry: handlers,
    retry: defaultRetryPolicy,
    clock: systemClock,
    log: silentLogger,
    onCommitted: (done) => batches.push(done),
  });
  // Another writer holds the lower run's lock.
  const other = await db.reserve();
  try {
    await other.query(sql`BEGIN`);
    await other.query(sql`SELECT id FROM kronos_runs WHERE id = ${low}::uuid FOR UPDATE`);
    // A first outcome is written at once, alone; the two step outcomes queue behind it and go
    // together in the next batch.
    await jobs.submit(db, { type: "plain" });
    const [plain] = await jobs.claim(db, {
      worker: "w",
      limit: 1,
      leaseMs: 60_000,
      types: ["plain"],
      definitionIds: [],
    });
    if (!plain) throw new Error("the plain job should have been claimed");
    completer.push({ ok: true, job: plain, result: null, startedAt: 0, finishedAt: 1 });
    completer.push({ ok: true, job: completing, result: 2, startedAt: 0, finishedAt: 1 });
    completer.push({ ok: false, job: failing, error: "boom", startedAt: 0, finishedAt: 1 });
    await waitFor("the batch to wait for the lower run's lock", async () => {
      const [row] = await db.query<{ n: number }>(sql`SELECT count(*)::int AS n FROM pg_locks WHERE NOT granted`);
      return (row?.n ?? 0) > 0;
    });
    // The other writer goes on to the higher run, in id order. Had the batch locked the completed
    // step's run (the higher) before the failed step's, this would deadlock.
    await other.query(sql`SELECT id FROM kronos_runs WHERE id = ${high}::uuid FOR UPDATE`);
    await other.query(sql`COMMIT`);
  } finally {
    await other.release();
  }
  await completer.idle();
  // Both outcomes were recorded by one transaction: nothing failed and was retried one by one.
  const stepBatches = batches.filter((b) => b.completed.some((c) => c.job.id === completing.id));
  expect(stepBatches).toHaveLength(1);
  expect(stepBatches[0]?.failed.map((f) => f.job.id)).toEqual([failing.id]);
  const status = await db.query<{ id: string; status: string }>(sql`
    SELECT id, status FROM kronos_runs WHERE id = ANY(${[low, high] as string[]}::uuid[]) ORDER BY id`);
  expect(status).toEqual([
    { id: low as string, status: "failed" },
    { id: high as string, status: "completed" },
  ]);
});
