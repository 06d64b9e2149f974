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
