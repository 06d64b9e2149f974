// A lease renewal in flight must not take a job claimed meanwhile for lost. (Found by chaos
// scenario 4: steps claimed while a renewal query was on its way were aborted with "lease lost",
// their failure was accepted, and they ran again with an attempt used up.)
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { Database, SqlQuery } from "../../src/db/index.ts";
import { Kronos } from "../../src/kronos.ts";
import { silentLogger } from "../../src/log.ts";
import * as jobs from "../../src/store/jobs.ts";
import { createPostgresDatabase, type TestDatabase } from "../support/postgres.ts";
import { deferred, waitFor } from "../support/wait.ts";

let t: TestDatabase;

beforeAll(async () => {
  t = await createPostgresDatabase();
});

afterAll(() => t.close());

test("a job claimed while a lease renewal is in flight keeps running", async () => {
  // Holds the renewal query at the door until the test lets it through.
  let gate: Promise<void> | undefined;
  const entered = deferred();
  const db: Database = {
    ...t.db,
    query: async <T>(q: SqlQuery) => {
      if (gate && q.text.includes("UPDATE kronos_jobs SET lease_expires_at")) {
        entered.resolve();
        await gate;
      }
      return t.db.query<T>(q);
    },
  };
  // A long lease: the timer renews rarely, the test renews by hand.
  const k = await Kronos.open({
    db,
    log: silentLogger,
    worker: { pollIntervalMs: 50, leaseMs: 60_000, concurrency: 4 },
  });
  const started = new Set<number>();
  const aborted: number[] = [];
  const finish = deferred();
  k.handle("hold", async (_p, ctx) => {
    ctx.signal.addEventListener("abort", () => aborted.push(ctx.job.id));
    started.add(ctx.job.id);
    await finish.promise;
  });
  await k.start();
  try {
    const { job: first } = await k.submit({ type: "hold" });
    await waitFor("the first job to start", () => started.has(first.id));
    const open = deferred();
    gate = open.promise;
    const renewing = k.worker.renewLeases();
    await entered.promise; // the renewal carries [first] and waits
    const { job: second } = await k.submit({ type: "hold" });
    await waitFor("the second job to start", () => started.has(second.id));
    gate = undefined;
    open.resolve();
    await renewing;
    expect(aborted).toEqual([]);
    finish.resolve();
    await waitFor("both jobs to complete", async () => {
      const rows = await Promise.all([first.id, second.id].map((id) => jobs.get(t.db, { id })));
      return rows.every((r) => r?.state === "completed");
    });
    expect((await jobs.get(t.db, { id: second.id }))?.attempt).toBe(1);
  } finally {
    finish.resolve();
    await k.stop(0);
  }
});
