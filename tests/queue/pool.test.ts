import { expect, test } from "bun:test";
import { resolve } from "node:path";
import { spawn } from "bun";
import { WorkerPool } from "../../src/queue/pool.ts";
import { HandlerRegistry } from "../../src/queue/types.ts";

const job = (id: number, type: string) => ({
  id,
  type,
  payload: null,
  priority: 5,
  runAt: new Date(),
  attempt: 1,
  maxRetries: 0,
  timeoutMs: null,
  definitionId: null,
});

test("every job settles once, with its result or its error", async () => {
  const registry = new HandlerRegistry();
  registry.register("ok", (p) => p ?? "done");
  registry.register("throws", () => {
    throw new Error("sync failure");
  });
  registry.register("rejects", async () => Promise.reject(new Error("async failure")));
  const seen: string[] = [];
  const pool = new WorkerPool({
    concurrency: 3,
    registry,
    defaultTimeoutMs: 1_000,
    onSettled: (o) => seen.push(`${o.job.type}:${o.ok ? String(o.result) : o.error}`),
  });
  pool.start([job(1, "ok"), job(2, "throws"), job(3, "rejects")]);
  expect(await pool.idle(5_000)).toBe(true);
  expect(seen.sort()).toEqual(["ok:done", "rejects:async failure", "throws:sync failure"]);
});

test("a handler that throws synchronously leaves no timer behind: the process can exit", async () => {
  const pool = resolve(import.meta.dir, "../../src/queue/pool.ts");
  const types = resolve(import.meta.dir, "../../src/queue/types.ts");
  const script = `
    const { WorkerPool } = await import(${JSON.stringify(pool)});
    const { HandlerRegistry } = await import(${JSON.stringify(types)});
    const r = new HandlerRegistry();
    r.register("boom", () => { throw new Error("boom"); });
    const p = new WorkerPool({ concurrency: 1, registry: r, defaultTimeoutMs: 60000, onSettled: () => {} });
    p.start([{ id: 1, type: "boom", payload: null, priority: 5, runAt: new Date(), attempt: 1, maxRetries: 0, timeoutMs: null, definitionId: null }]);
    await p.idle();`;
  const child = spawn([process.execPath, "-e", script], { stdout: "ignore", stderr: "pipe" });
  const exited = await Promise.race([
    child.exited,
    new Promise<string>((r) => setTimeout(() => r("still running"), 5_000)),
  ]);
  if (exited === "still running") child.kill("SIGKILL");
  expect(exited).toBe(0);
});

test("when a job runs again under the same id, the stale run's end does not free the new run's slot", async () => {
  const registry = new HandlerRegistry();
  const gates = new Map<number, () => void>();
  registry.register("held", (_p, ctx) => new Promise<void>((done) => gates.set(ctx.job.attempt, done)));
  const settled: number[] = [];
  const pool = new WorkerPool({
    concurrency: 2,
    registry,
    defaultTimeoutMs: 10_000,
    onSettled: (o) => settled.push(o.job.attempt),
  });
  pool.start([job(7, "held")]);
  // Its lease was lost and the same worker claimed it again: attempt 2 runs beside the stale one.
  pool.start([{ ...job(7, "held"), attempt: 2 }]);
  expect(pool.ids()).toEqual([7]);
  gates.get(1)?.();
  await Promise.resolve();
  await Promise.resolve();
  expect(settled).toEqual([1]);
  // Attempt 2 is still tracked (its lease is renewed, its slot taken).
  expect(pool.ids()).toEqual([7]);
  expect(pool.size).toBe(1);
  gates.get(2)?.();
  expect(await pool.idle(1_000)).toBe(true);
  expect(settled).toEqual([1, 2]);
});
