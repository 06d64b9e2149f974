import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { type Database, sql } from "../../src/db/index.ts";
import { FailedPreconditionError, InvalidArgumentError, NotFoundError } from "../../src/errors.ts";
import { Kronos } from "../../src/kronos.ts";
import { silentLogger } from "../../src/log.ts";
import * as events from "../../src/store/events.ts";
import { workflow } from "../../src/workflow/define.ts";
import { backends, type TestDatabase, truncateAll } from "../support/postgres.ts";
import { deferred, waitFor } from "../support/wait.ts";

const fast = { pollIntervalMs: 50, leaseMs: 5_000, retry: { baseMs: 1, capMs: 5 }, concurrency: 20 };

for (const backend of backends) {
  describe(`workflow engine on ${backend.name}`, () => {
    let t: TestDatabase;
    let db: Database;
    let k: Kronos;
    const nodes: Kronos[] = [];
    const open = async () => {
      const node = await Kronos.open({ db, log: silentLogger, worker: fast, leaderCheckMs: 100 });
      nodes.push(node);
      return node;
    };
    beforeAll(async () => {
      t = await backend.create();
      db = t.db;
    });
    beforeEach(async () => {
      await truncateAll(db);
      k = await open();
    });
    afterEach(async () => {
      await Promise.all(nodes.splice(0).map((n) => n.stop(0)));
    });
    afterAll(() => t.close());

    test("a chain passes each output to the next step and the sink's output is the run's", async () => {
      await k.register(
        workflow<{ n: number }>("chain", "v1")
          .step("a", ({ n }) => n + 1)
          .step("b", (x) => x * 10, { after: ["a"] })
          .step("c", (x) => ({ total: x }), { after: ["b"] }),
      );
      await k.start();
      const { runId } = await k.startRun({ workflowName: "chain", input: { n: 1 } });
      const run = await k.waitForRun(runId);
      expect({ status: run.status, output: run.output }).toEqual({ status: "completed", output: { total: 20 } });
      expect(run.steps.map((s) => [s.name, s.status, s.input, s.output])).toEqual([
        ["a", "completed", { n: 1 }, 2],
        ["b", "completed", 2, 20],
        ["c", "completed", 20, { total: 20 }],
      ]);
    });

    test("a diamond runs its branches in parallel and fan-in gets an object keyed by dependency", async () => {
      const bothStarted = { left: deferred(), right: deferred() };
      await k.register(
        workflow<string>("diamond", "v1")
          .step("top", (s) => s.toUpperCase())
          .step(
            "left",
            async (s) => {
              bothStarted.left.resolve();
              await bothStarted.right.promise; // finishes only once "right" is running too
              return `${s}-L`;
            },
            { after: ["top"] },
          )
          .step(
            "right",
            async (s) => {
              bothStarted.right.resolve();
              await bothStarted.left.promise;
              return `${s}-R`;
            },
            { after: ["top"] },
          )
          .step("join", (both) => both, { after: ["left", "right"] }),
      );
      await k.start();
      const { runId } = await k.startRun({ workflowName: "diamond", input: "x" });
      const run = await k.waitForRun(runId);
      expect(run.output).toEqual({ left: "X-L", right: "X-R" });
    });

    test("a 100-step fan-out and fan-in runs every step once; several sinks make a keyed output", async () => {
      let calls = 0;
      // Steps made in a loop: the builder's types cannot follow, so view it loosely.
      type Loose = { step(name: string, fn: (input: never) => unknown, options?: { after: string[] }): Loose };
      let wf = workflow<number>("wide", "v1").step("root", (n) => n) as unknown as Loose;
      const branches: string[] = [];
      for (let i = 0; i < 100; i++) {
        branches.push(`b${i}`);
        wf = wf.step(
          `b${i}`,
          (n: number) => {
            calls++;
            return n + i;
          },
          { after: ["root"] },
        );
      }
      const full = wf
        .step("sum", (all: Record<string, number>) => Object.values(all).reduce((a, b) => a + b, 0), {
          after: branches,
        })
        .step("side", () => "also a sink", { after: ["root"] });
      await k.register(full as never);
      await k.start();
      const { runId } = await k.startRun({ workflowName: "wide", input: 1 });
      const run = await k.waitForRun(runId, 60_000);
      expect(calls).toBe(100);
      expect(run.output).toEqual({ sum: 100 + 4950, side: "also a sink" });
      // 103 steps completed once each; their jobs' rows went with their completions.
      const [counts] = await db.query<{ jobs: number; completed: number }>(sql`
        SELECT (SELECT count(*)::int FROM kronos_jobs) AS jobs,
               (SELECT count(*)::int FROM kronos_events WHERE run_id = ${runId}::uuid AND type = 'step_completed') AS completed`);
      expect(counts).toEqual({ jobs: 0, completed: 103 });
    });

    test("the event log is gapless and tells the whole story", async () => {
      let tries = 0;
      await k.register(
        workflow("story", "v1")
          .step("flaky", () => {
            tries++;
            if (tries === 1) throw new Error("first try fails");
            return "ok";
          })
          .step("last", (x) => x, { after: ["flaky"] }),
      );
      await k.start();
      const { runId } = await k.startRun({ workflowName: "story", input: null });
      await k.waitForRun(runId);
      const log = await events.list(db, { runId });
      expect(log.map((e) => e.seq)).toEqual(log.map((_, i) => i + 1));
      expect(log.map((e) => [e.type, e.step, e.attempt])).toEqual([
        ["run_started", null, null],
        ["step_scheduled", "flaky", null],
        ["step_started", "flaky", 1],
        ["step_failed", "flaky", 1],
        ["step_retried", "flaky", 2],
        ["step_started", "flaky", 2],
        ["step_completed", "flaky", 2],
        ["step_scheduled", "last", null],
        ["step_started", "last", 1],
        ["step_completed", "last", 1],
        ["run_completed", null, null],
      ]);
      expect(log[3]?.data.error).toBe("first try fails");
      await expect(db.query(sql`UPDATE kronos_events SET type = 'run_failed' WHERE run_id = ${runId}`)).rejects.toThrow(
        "kronos_events is append-only",
      );
    });

    test("a step that exhausts its retries fails the run with the step, attempt and error", async () => {
      let laterRan = false;
      await k.register(
        workflow("doomed", "v1")
          .step(
            "boom",
            () => {
              throw new Error("always broken");
            },
            { retries: 1 },
          )
          .step(
            "later",
            () => {
              laterRan = true;
            },
            { after: ["boom"] },
          ),
      );
      await k.start();
      const { runId } = await k.startRun({ workflowName: "doomed" });
      const run = await k.waitForRun(runId);
      expect({ status: run.status, failedStep: run.failedStep, error: run.error }).toEqual({
        status: "failed",
        failedStep: "boom",
        error: { step: "boom", attempt: 2, message: "always broken" },
      });
      expect(run.steps.map((s) => [s.name, s.status])).toEqual([
        ["boom", "failed"],
        ["later", "cancelled"],
      ]);
      expect(laterRan).toBe(false);
      const last = (await events.list(db, { runId })).at(-1);
      expect([last?.type, last?.step, last?.attempt, last?.data.error]).toEqual([
        "run_failed",
        "boom",
        2,
        "always broken",
      ]);
    });

    test("cancel: pending steps never start and a running step's signal fires", async () => {
      const started = deferred();
      const aborted = deferred();
      let afterRan = false;
      await k.register(
        workflow("cancellable", "v1")
          .step("wait", async (_i, { signal }) => {
            started.resolve();
            await new Promise((r) => signal.addEventListener("abort", r));
            aborted.resolve();
            return "stopped";
          })
          .step(
            "after",
            () => {
              afterRan = true;
            },
            { after: ["wait"] },
          ),
      );
      await k.start();
      const { runId } = await k.startRun({ workflowName: "cancellable" });
      await started.promise;
      const cancelled = await k.cancelRun(runId);
      expect(cancelled.status).toBe("cancelled");
      await aborted.promise;
      await waitFor("the aborted step's outcome to be written", () => k.worker.inFlight === 0);
      const run = await k.getRun(runId);
      expect(run.steps.map((s) => [s.name, s.status])).toEqual([
        ["wait", "cancelled"],
        ["after", "cancelled"],
      ]);
      expect(afterRan).toBe(false);
      expect((await events.list(db, { runId })).at(-1)?.type).toBe("run_cancelled");
      await expect(k.cancelRun(runId)).rejects.toBeInstanceOf(FailedPreconditionError);
    });

    test("fork reruns from a step with fixed code, never invokes upstream, and shares blobs", async () => {
      const calls: string[] = [];
      const v1 = workflow<{ x: number }>("forkable", "v1")
        .step("load", ({ x }) => {
          calls.push("load");
          return { x, blob: "a large shared value" };
        })
        .step(
          "side",
          (d) => {
            calls.push("side");
            return d.x;
          },
          { after: ["load"] },
        )
        .step(
          "transform",
          (): number => {
            calls.push("transform");
            throw new Error("bug in transform");
          },
          { after: ["side"], retries: 0 },
        )
        .step("report", ({ side, transform }) => ({ side, transform }), { after: ["side", "transform"] });
      await k.register(v1);
      await k.start();
      const { runId } = await k.startRun({ workflowName: "forkable", input: { x: 2 } });
      const failed = await k.waitForRun(runId);
      expect(failed.status).toBe("failed");
      const blobsBefore = await db.query<{ n: number }>(sql`SELECT count(*)::int AS n FROM kronos_blobs`);

      // The fix ships as v2; the fork runs with the definition loaded now.
      await k.register(
        workflow<{ x: number }>("forkable", "v2")
          .step("load", ({ x }) => {
            calls.push("load");
            return { x, blob: "a large shared value" };
          })
          .step(
            "side",
            (d) => {
              calls.push("side");
              return d.x;
            },
            { after: ["load"] },
          )
          .step(
            "transform",
            (x) => {
              calls.push("transform-fixed");
              return x * 100;
            },
            { after: ["side"] },
          )
          .step("report", ({ side, transform }) => ({ side, transform }), { after: ["side", "transform"] }),
      );
      calls.length = 0;
      const fork = await k.forkRun(runId, "transform");
      const child = await k.waitForRun(fork.runId);
      expect(calls.sort()).toEqual(["transform-fixed"]);
      expect({ status: child.status, output: child.output, parent: child.parentRunId, from: child.forkedFrom }).toEqual(
        {
          status: "completed",
          output: { side: 2, transform: 200 },
          parent: runId,
          from: "transform",
        },
      );
      expect(child.steps.map((s) => [s.name, s.status])).toEqual([
        ["load", "reused"],
        ["side", "reused"],
        ["transform", "completed"],
        ["report", "completed"],
      ]);
      // Reused outputs point at the parent's blobs: only transform's and report's new outputs were added.
      const [shared] = await db.query<{ n: number }>(sql`
        SELECT count(*)::int AS n FROM kronos_steps p JOIN kronos_steps c ON c.output_hash = p.output_hash
        WHERE p.run_id = ${runId} AND c.run_id = ${fork.runId} AND p.name IN ('load', 'side') AND c.name = p.name`);
      expect(shared?.n).toBe(2);
      const blobsAfter = await db.query<{ n: number }>(sql`SELECT count(*)::int AS n FROM kronos_blobs`);
      expect((blobsAfter[0]?.n ?? 0) - (blobsBefore[0]?.n ?? 0)).toBe(2);
      const parentLog = await events.list(db, { runId });
      expect(parentLog.at(-1)).toMatchObject({
        type: "run_forked",
        step: "transform",
        data: { childRunId: fork.runId },
      });
      await expect(k.forkRun(runId, "nope")).rejects.toThrow(
        'workflow "forkable" has no step "nope" (steps: load, side, transform, report)',
      );
      // A child refers to its parent's values without storing them: with one of them gone, the
      // fork is refused rather than left pointing at nothing.
      await t.db.query(sql`DELETE FROM kronos_blobs WHERE hash =
        (SELECT output_hash FROM kronos_steps WHERE run_id = ${runId} AND name = 'load')`);
      await expect(k.forkRun(runId, "transform")).rejects.toThrow(
        `run ${runId} cannot be forked: 1 of its recorded values were removed by retention`,
      );
    });

    test("a run pins its definition: v1 runs in flight finish on v1 code after v2 is deployed", async () => {
      const gate = deferred();
      const seen: string[] = [];
      const v1 = workflow("pinned", "v1")
        .step("first", async () => {
          await gate.promise;
          return 1;
        })
        .step(
          "second",
          (n) => {
            seen.push("v1");
            return n;
          },
          { after: ["first"] },
        );
      await k.register(v1);
      await k.start();
      const { runId: old } = await k.startRun({ workflowName: "pinned" });
      // The rolling deploy: a new node loads v1 and v2 (both exported during the rollout).
      const v2 = workflow("pinned", "v2")
        .step("first", () => 2)
        .step(
          "second",
          (n) => {
            seen.push("v2");
            return n;
          },
          { after: ["first"] },
        );
      const next = await open();
      await next.register(v1, v2);
      await next.start();
      const { runId: fresh } = await next.startRun({ workflowName: "pinned" });
      gate.resolve();
      const [a, b] = [await k.waitForRun(old), await next.waitForRun(fresh)];
      expect([a.workflowVersion, a.output, b.workflowVersion, b.output]).toEqual(["v1", 1, "v2", 2]);
      expect(seen.sort()).toEqual(["v1", "v2"]);
    });

    test("a completed step hands its successor to the same worker, so a chain stays on one node", async () => {
      const other = await open();
      const ranOn: Record<string, string[]> = {};
      const note = (runId: string, node: string) => {
        ranOn[runId] = [...(ranOn[runId] ?? []), node];
      };
      const chain = (node: string) =>
        workflow<number>("handoff", "v1")
          .step("one", (n, { runId }) => {
            note(runId, node);
            return n;
          })
          .step(
            "two",
            (n, { runId }) => {
              note(runId, node);
              return n;
            },
            { after: ["one"] },
          )
          .step(
            "three",
            (n, { runId }) => {
              note(runId, node);
              return n;
            },
            { after: ["two"] },
          );
      // Same code, two nodes racing for every job that reaches the queue.
      await k.register(chain("k"));
      await other.register(chain("other"));
      await Promise.all([k.start(), other.start()]);
      for (let i = 0; i < 10; i++) {
        const { runId } = await k.startRun({ workflowName: "handoff", input: i });
        await k.waitForRun(runId);
      }
      for (const nodes of Object.values(ranOn)) expect(new Set(nodes).size).toBe(1);
      expect(Object.keys(ranOn)).toHaveLength(10);
    });

    test("a node only claims steps of definitions it loaded", async () => {
      const other = await open();
      await other.register(workflow("elsewhere", "v1").step("only", () => "ran"));
      const { runId } = await other.startRun({ workflowName: "elsewhere" });
      await k.start(); // k has not loaded "elsewhere"
      await k.worker.runOnce();
      expect((await k.getRun(runId)).steps[0]?.status).toBe("scheduled");
      await other.start();
      expect((await other.waitForRun(runId)).output).toBe("ran");
    });

    test("changed code under the same version is reported clearly", async () => {
      await k.register(workflow("drift", "v1").step("a", () => 1));
      const later = await open();
      const warnings = await later.register(workflow("drift", "v1").step("a", () => 2));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(
        /^workflow "drift" version "v1" changed without a new version: fingerprint [0-9a-f]{12} differs from [0-9a-f]{12} stored earlier/,
      );
    });

    test("start validates its input and an idempotency key returns the first run", async () => {
      await k.register(workflow("idem", "v1").step("a", (x) => x));
      await expect(k.startRun({ workflowName: "missing" })).rejects.toThrow(
        'no workflow named "missing" is loaded (workflows: idem)',
      );
      await expect(k.startRun({ workflowName: "missing" })).rejects.toBeInstanceOf(NotFoundError);
      await expect(k.startRun({ workflowName: "" })).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(k.startRun({ workflowName: "idem", version: "v9" })).rejects.toThrow(
        'workflow "idem" has no version "v9" loaded (versions: v1)',
      );
      const first = await k.startRun({ workflowName: "idem", input: 1, idempotencyKey: "order-7" });
      const second = await k.startRun({ workflowName: "idem", input: 2, idempotencyKey: "order-7" });
      expect(second).toEqual({ runId: first.runId, existing: true });
      await expect(k.getRun("not-a-uuid")).rejects.toThrow('runId "not-a-uuid" is not a run id (expected a UUID)');
    });

    test("onRunEnded reports each run once when it completes, fails or is cancelled", async () => {
      const ended: string[] = [];
      k.onRunEnded((e) => ended.push(`${e.workflow}:${e.outcome}`));
      const hold = deferred();
      await k.register(
        workflow<string>("ends", "v1").step(
          "go",
          async (mode, { signal }) => {
            if (mode === "fail") throw new Error("no");
            if (mode === "hang")
              await Promise.race([hold.promise, new Promise((r) => signal.addEventListener("abort", r))]);
            return mode;
          },
          { retries: 0 },
        ),
      );
      await k.start();
      const ok = await k.startRun({ workflowName: "ends", input: "ok" });
      const bad = await k.startRun({ workflowName: "ends", input: "fail" });
      const hung = await k.startRun({ workflowName: "ends", input: "hang" });
      await k.waitForRun(ok.runId);
      await k.waitForRun(bad.runId);
      await waitFor(
        "the hanging step to start",
        async () => (await k.getRun(hung.runId)).steps[0]?.status === "running",
      );
      await k.cancelRun(hung.runId);
      await waitFor("three ends", () => ended.length === 3);
      expect(ended.sort()).toEqual(["ends:cancelled", "ends:completed", "ends:failed"]);
    });

    test("a run started in the caller's transaction disappears with its rollback", async () => {
      await k.register(workflow("tx", "v1").step("a", (x) => x));
      await expect(
        db.transaction(async (tx) => {
          await k.startRun({ workflowName: "tx" }, tx);
          throw new Error("rolled back");
        }),
      ).rejects.toThrow("rolled back");
      const [counts] = await db.query(
        sql`SELECT (SELECT count(*)::int FROM kronos_runs) AS runs, (SELECT count(*)::int FROM kronos_jobs) AS jobs`,
      );
      expect(counts).toEqual({ runs: 0, jobs: 0 });
    });
  });
}
