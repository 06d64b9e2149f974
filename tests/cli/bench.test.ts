import { expect, test } from "bun:test";
import { resolve } from "node:path";

const main = resolve(import.meta.dir, "../../src/main.ts");

// The benchmark's output is a contract (docs/benchmarks.md and the JSON lines): a quick run
// on the embedded database must print one well-formed line per case. Figures are not checked here.
test("bench --quick --json prints one JSON line per case", async () => {
  const proc = Bun.spawn([process.execPath, main, "bench", "all", "--quick", "--json", "--backend", "pglite"], {
    stdout: "pipe",
    stderr: "pipe",
  });
  const [out, code] = await Promise.all([new Response(proc.stdout).text(), proc.exited]);
  expect(code).toBe(0);
  const lines = out
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  expect(lines.map((l) => `${l.bench}/${l.case}/${l.backend}/${l.workers}`)).toEqual([
    "queue/pool/none/10",
    "queue/pool/none/50",
    "queue/noop/pglite/10",
    "queue/noop/pglite/50",
    "queue/enqueue/pglite/1",
    "queue/latency/pglite/10",
    "workflow/dag6/pglite/50",
  ]);
  for (const l of lines.filter((x) => x.bench === "queue")) {
    expect(typeof l.jobs).toBe("number");
    expect(l.per_s as number).toBeGreaterThan(0);
  }
  const dag6 = lines.at(-1) as Record<string, number>;
  expect(dag6.runs).toBe(50);
  // The measured runs follow as many warm-up runs (docs/benchmarks.md says why).
  expect(dag6.warmup_runs).toBe(50);
  for (const key of ["steps_per_s", "p50_ms", "p99_ms"]) expect(dag6[key]).toBeGreaterThan(0);
  expect(dag6.p99_ms).toBeGreaterThanOrEqual(dag6.p50_ms as number);
});
