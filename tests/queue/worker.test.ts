import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { sql } from "../../src/db/index.ts";
import { Kronos } from "../../src/kronos.ts";
import { silentLogger } from "../../src/log.ts";
import type { WorkerConfig } from "../../src/queue/worker.ts";
import * as jobs from "../../src/store/jobs.ts";
import { testNodes } from "../support/nodes.ts";
import { backends, type TestDatabase } from "../support/postgres.ts";
import { deferred, waitFor } from "../support/wait.ts";

const fast = { pollIntervalMs: 50, leaseMs: 2_000 };

for (const backend of backends) {
  describe(`worker on ${backend.name}`, () => {
    const fixture = testNodes(backend, fast);
    const node = (worker: Partial<WorkerConfig> = {}) => fixture.open(worker);

    test("runs every job once with its payload and stores the result", async () => {
      const seen: number[] = [];
      const k = await node({ concurrency: 8 });
      k.handle<{ n: number }>("double", ({ n }) => {
        seen.push(n);
        return n * 2;
      });
      await k.start();
      for (let n = 0; n < 200; n++) await k.submit({ type: "double", payload: { n } });
      await waitFor(
        "all jobs completed",
        async () => (await jobs.list(fixture.db, { state: "completed", limit: 500 })).length === 200,
      );
      expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: 200 }, (_, i) => i));
      const [one] = await fixture.db.query(sql`SELECT result FROM kronos_jobs WHERE payload->>'n' = '21'`);
      expect(one).toEqual({ result: 42 });
    });

    test("a submitted job is picked up through NOTIFY, long before the poll interval", async () => {
      const k = await node({ pollIntervalMs: 60_000 });
      const ran = deferred();
      k.handle("ping", () => ran.resolve());
      await k.start();
      await k.submit({ type: "ping" });
      await ran.promise; // with a 60 s poll, only the notification can have woken the worker
    });

    test("a failing job is retried and then dead-lettered with its error", async () => {
      const k = await node({ retry: { baseMs: 1, capMs: 5 } });
      let calls = 0;
      k.handle("flaky", () => {
        calls++;
        throw new Error(`failure ${calls}`);
      });
      await k.start();
      const { job } = await k.submit({ type: "flaky", maxRetries: 2 });
      const dead = await waitFor("job dead", async () => {
        const row = await jobs.get(fixture.db, { id: job.id });
        return row?.state === "dead" ? row : undefined;
      });
      expect({ attempt: dead.attempt, lastError: dead.lastError, calls }).toEqual({
        attempt: 3,
        lastError: "failure 3",
        calls: 3,
      });
    });

    test("JOB_TIMEOUT fires the handler's AbortSignal and fails the attempt", async () => {
      const k = await node({ jobTimeoutMs: 100 });
      const aborted = deferred<string>();
      k.handle("slow", (_p, { signal }) => {
        signal.addEventListener("abort", () => aborted.resolve(String(signal.reason)));
        return new Promise(() => {});
      });
      await k.start();
      const { job } = await k.submit({ type: "slow", maxRetries: 0 });
      expect(await aborted.promise).toContain("timed out after 100 ms");
      const dead = await waitFor("job dead", async () => {
        const row = await jobs.get(fixture.db, { id: job.id });
        return row?.state === "dead" ? row : undefined;
      });
      expect(dead.lastError).toBe("timed out after 100 ms");
    });

    test("cancelling a running job fires its signal and its completion is refused", async () => {
      const k = await node();
      const started = deferred();
      const aborted = deferred();
      k.handle("long", async (_p, { signal }) => {
        started.resolve();
        await new Promise((r) => signal.addEventListener("abort", r));
        aborted.resolve();
        return "finished anyway";
      });
      await k.start();
      const { job } = await k.submit({ type: "long" });
      await started.promise;
      await jobs.cancel(fixture.db, { id: job.id });
      await aborted.promise;
      await waitFor("outcome written", () => k.worker.inFlight === 0);
      const row = await jobs.get(fixture.db, { id: job.id });
      expect({ state: row?.state, result: row?.result }).toEqual({ state: "cancelled", result: null });
    });

    test("stop lets an in-flight job finish within the grace period", async () => {
      const k = await node();
      const started = deferred();
      const release = deferred();
      k.handle("work", async () => {
        started.resolve();
        await release.promise;
        return "done";
      });
      await k.start();
      const { job } = await k.submit({ type: "work" });
      await started.promise;
      const stopping = k.stop(10_000);
      release.resolve();
      expect(await stopping).toEqual({ finished: true, handedBack: 0 });
      expect((await jobs.get(fixture.db, { id: job.id }))?.state).toBe("completed");
    });

    test("stop hands back a job that outlives the grace period, without counting the attempt", async () => {
      const k = await node();
      const started = deferred();
      k.handle("stuck", () => {
        started.resolve();
        return new Promise(() => {});
      });
      await k.start();
      const { job } = await k.submit({ type: "stuck" });
      await started.promise;
      expect(await k.stop(50)).toEqual({ finished: false, handedBack: 1 });
      const row = await jobs.get(fixture.db, { id: job.id });
      expect({ state: row?.state, attempt: row?.attempt }).toEqual({ state: "pending", attempt: 0 });
    });

    test("a job whose lease expires is taken back by the leader and run again", async () => {
      const k = await node({ leaseMs: 300 });
      let calls = 0;
      k.handle("once-stuck", () => {
        calls++;
        return "ok";
      });
      // A claim by a worker that then vanishes: running, lease about to run out.
      const { job } = await k.submit({ type: "once-stuck" });
      await jobs.claim(fixture.db, {
        worker: "ghost",
        limit: 1,
        leaseMs: 100,
        types: ["once-stuck"],
        definitionIds: [],
      });
      await k.start();
      const done = await waitFor("job completed after its lease expired", async () => {
        const row = await jobs.get(fixture.db, { id: job.id });
        return row?.state === "completed" ? row : undefined;
      });
      expect({ attempt: done.attempt, calls }).toEqual({ attempt: 2, calls: 1 });
    });
  });
}

describe("cluster on postgres", () => {
  let t: TestDatabase;
  const nodes: Kronos[] = [];
  beforeAll(async () => {
    t = await backends[0].create(20);
  });
  afterAll(async () => {
    await Promise.all(nodes.map((k) => k.stop(0)));
    await t.close();
  });

  test("exactly one node leads; when it stops another takes over", async () => {
    const open = async () => {
      const k = await Kronos.open({ databaseUrl: t.url, log: silentLogger, leaderCheckMs: 50, worker: fast });
      nodes.push(k);
      await k.start();
      return k;
    };
    const [a, b] = [await open(), await open()];
    const first = await waitFor("a leader", () => [a, b].find((k) => k.leader.isLeader));
    const other = first === a ? b : a;
    expect(other.leader.isLeader).toBe(false);
    await first.stop(0);
    await waitFor("the other node to lead", () => other.leader.isLeader);
  });

  test("cron enqueues each tick once with two nodes", async () => {
    const open = async () => {
      const k = await Kronos.open({ databaseUrl: t.url, log: silentLogger, leaderCheckMs: 50, worker: fast });
      nodes.push(k);
      return k;
    };
    const [a, b] = [await open(), await open()];
    await a.cron("every-second", "* * * * * *", { type: "tick" });
    await b.cron("every-second", "* * * * * *", { type: "tick" });
    const ticks: string[] = [];
    for (const k of [a, b]) k.handle("tick", (_p, { job }) => void ticks.push(String(job.id)));
    await Promise.all([a.start(), b.start()]);
    await waitFor("three ticks", async () => {
      const rows = await t.db.query<{ n: number }>(
        sql`SELECT count(*)::int AS n FROM kronos_jobs WHERE type = 'tick' AND state = 'completed'`,
      );
      return (rows[0]?.n ?? 0) >= 3;
    });
    const keys = await t.db.query<{ key: string }>(
      sql`SELECT idempotency_key AS key FROM kronos_jobs WHERE type = 'tick'`,
    );
    expect(new Set(keys.map((k) => k.key)).size).toBe(keys.length);
    // One job a second: the ticks are consecutive seconds, none repeated, none skipped.
    const seconds = keys.map((k) => Date.parse(k.key.split(":").slice(2).join(":")) / 1000).sort((x, y) => x - y);
    expect(seconds.at(-1)! - seconds[0]!).toBe(seconds.length - 1);
  });
});
