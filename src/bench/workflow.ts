import { Kronos } from "../kronos.ts";
import { silentLogger } from "../log.ts";
import type { AnyWorkflow } from "../workflow/define.ts";
import { type BenchBackend, type BenchDatabases, percentile, round1 } from "./setup.ts";

export interface WorkflowResult {
  bench: "workflow";
  case: "dag6";
  backend: BenchBackend;
  workers: number;
  runs: number;
  steps_per_s: number;
  p50_ms: number;
  p99_ms: number;
  batch_size: number;
  warmup_runs: number;
}

/**
 * After `warmupRuns` runs to warm the node up (the CLI uses as many as it measures), `runs` runs of
 * the six-step example started at once and processed by one node with `workers` slots (steps/s
 * from first start to last completion); then start-to-finish latency of single runs on the idle node.
 */
export async function dag6Case(
  dbs: BenchDatabases,
  backend: BenchBackend,
  pipeline: AnyWorkflow,
  o: { workers: number; runs: number; warmupRuns: number; latencySamples: number; batchSize: number },
): Promise<WorkflowResult> {
  const { db, drop } = await dbs.fresh(backend, Math.ceil(o.workers / 5) + 8);
  try {
    let finished = 0;
    let target = o.runs;
    let done: () => void = () => {};
    let allDone = new Promise<void>((r) => {
      done = r;
    });
    const k = await Kronos.open({
      db,
      log: silentLogger,
      worker: { concurrency: o.workers, batchSize: o.batchSize, pollIntervalMs: 1_000 },
      hooks: {
        onCommitted: ({ completed }) => {
          for (const c of completed) {
            if ((c.job.payload as { step: string }).step === "finish" && ++finished === target) done();
          }
        },
      },
    });
    await k.register(pipeline);
    await k.start();
    const startRuns = async (count: number, prefix: string) => {
      for (let i = 0; i < count; i += 100) {
        await Promise.all(
          Array.from({ length: Math.min(100, count - i) }, (_, j) =>
            k.startRun({ workflowName: pipeline.name, input: { userId: `${prefix}${i + j}` } }),
          ),
        );
      }
    };
    // Warm-up: measure a node that has been running (code compiled, statements prepared, tables
    // analysed by the first-statistics pass), not its first second.
    if (o.warmupRuns > 0) {
      target = o.warmupRuns;
      await startRuns(o.warmupRuns, "warm");
      await allDone;
      finished = 0;
      target = o.runs;
      allDone = new Promise<void>((r) => {
        done = r;
      });
    }
    const steps = pipeline.steps.length;
    const started = performance.now();
    await startRuns(o.runs, "u");
    await allDone;
    const seconds = (performance.now() - started) / 1000;
    const latencies: number[] = [];
    for (let i = 0; i < o.latencySamples; i++) {
      const t0 = performance.now();
      const { runId } = await k.startRun({ workflowName: pipeline.name, input: { userId: `idle${i}` } });
      const run = await k.waitForRun(runId);
      if (run.status !== "completed") throw new Error(`benchmark run ${runId} ended ${run.status}`);
      latencies.push(performance.now() - t0);
    }
    await k.stop(1_000);
    latencies.sort((a, b) => a - b);
    return {
      bench: "workflow",
      case: "dag6",
      backend,
      workers: o.workers,
      runs: o.runs,
      steps_per_s: round1((o.runs * steps) / seconds),
      p50_ms: round1(percentile(latencies, 50)),
      p99_ms: round1(percentile(latencies, 99)),
      batch_size: o.batchSize,
      warmup_runs: o.warmupRuns,
    };
  } finally {
    await drop();
  }
}
