import { sql } from "../db/index.ts";
import { Kronos } from "../kronos.ts";
import { silentLogger } from "../log.ts";
import { WorkerPool } from "../queue/pool.ts";
import { HandlerRegistry } from "../queue/types.ts";
import type { ClaimedJob } from "../store/jobs.ts";
import * as jobs from "../store/jobs.ts";
import { type BenchBackend, type BenchDatabases, percentile, round1 } from "./setup.ts";

export interface QueueResult {
  bench: "queue";
  case: "noop" | "enqueue" | "pool" | "latency";
  backend: BenchBackend | "none";
  workers: number;
  jobs: number;
  per_s: number;
  p50_ms?: number;
  batch_size?: number;
}

/** The worker pool alone, fed from memory: the ceiling the database path is measured against. */
export async function poolCase(workers: number, count: number): Promise<QueueResult> {
  const registry = new HandlerRegistry();
  registry.register("noop", () => undefined);
  let settled = 0;
  let fed = 0;
  let done: () => void = () => {};
  const finished = new Promise<void>((r) => {
    done = r;
  });
  const make = (id: number): ClaimedJob => ({
    id,
    type: "noop",
    payload: null,
    priority: 5,
    runAt: new Date(0),
    attempt: 1,
    maxRetries: 0,
    timeoutMs: null,
    definitionId: null,
  });
  const pool: WorkerPool = new WorkerPool({
    concurrency: workers,
    registry,
    defaultTimeoutMs: 60_000,
    onSettled: () => {
      settled++;
      if (settled === count) done();
      else if (fed < count) pool.start([make(fed++)]);
    },
  });
  const started = performance.now();
  const first: ClaimedJob[] = [];
  while (fed < Math.min(workers, count)) first.push(make(fed++));
  pool.start(first);
  await finished;
  const seconds = (performance.now() - started) / 1000;
  return { bench: "queue", case: "pool", backend: "none", workers, jobs: count, per_s: round1(count / seconds) };
}

/** No-op jobs enqueued beforehand, then processed by one node with `workers` slots. */
export async function noopCase(
  dbs: BenchDatabases,
  backend: BenchBackend,
  workers: number,
  count: number,
  batchSize: number,
): Promise<QueueResult> {
  const { db, drop } = await dbs.fresh(backend, Math.ceil(workers / 5) + 8);
  try {
    for (let i = 0; i < count; i += 1_000) {
      await jobs.submitMany(
        db,
        Array.from({ length: Math.min(1_000, count - i) }, () => ({ type: "noop" })),
      );
    }
    // Steady state: a running node's first-statistics pass (or autovacuum) analyses a fresh table
    // within a second or so of the burst; do it here so the clock starts on a planned table.
    if (backend === "postgres") await db.query(sql`ANALYZE kronos_jobs`);
    let completed = 0;
    let done: () => void = () => {};
    const finished = new Promise<void>((r) => {
      done = r;
    });
    const k = await Kronos.open({
      db,
      log: silentLogger,
      worker: { concurrency: workers, batchSize, pollIntervalMs: 1_000 },
      hooks: {
        onCommitted: ({ completed: c }) => {
          completed += c.length;
          if (completed >= count) done();
        },
      },
    });
    k.handle("noop", () => undefined);
    const started = performance.now();
    await k.start();
    await finished;
    const seconds = (performance.now() - started) / 1000;
    await k.stop(1_000);
    return {
      bench: "queue",
      case: "noop",
      backend,
      workers,
      jobs: count,
      per_s: round1(count / seconds),
      batch_size: batchSize,
    };
  } finally {
    await drop();
  }
}

/** Single-job submits from `concurrency` callers at once (each its own statement and commit). */
export async function enqueueCase(
  dbs: BenchDatabases,
  backend: BenchBackend,
  concurrency: number,
  count: number,
): Promise<QueueResult> {
  const { db, drop } = await dbs.fresh(backend, concurrency);
  try {
    let next = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < count) {
          next++;
          await jobs.submit(db, { type: "noop", payload: { n: next } });
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    return {
      bench: "queue",
      case: "enqueue",
      backend,
      workers: concurrency,
      jobs: count,
      per_s: round1(count / seconds),
    };
  } finally {
    await drop();
  }
}

/** Time from submit (committed) to the handler starting, on an idle queue, one job at a time. */
export async function latencyCase(dbs: BenchDatabases, backend: BenchBackend, samples: number): Promise<QueueResult> {
  const { db, drop } = await dbs.fresh(backend, 4);
  try {
    const k = await Kronos.open({ db, log: silentLogger, worker: { concurrency: 10, pollIntervalMs: 2_000 } });
    let wake: (t: number) => void = () => {};
    k.handle("ping", () => wake(performance.now()));
    await k.start();
    const times: number[] = [];
    for (let i = 0; i < samples; i++) {
      const ran = new Promise<number>((r) => {
        wake = r;
      });
      const t0 = performance.now();
      await jobs.submit(db, { type: "ping" });
      times.push((await ran) - t0);
    }
    await k.stop(1_000);
    times.sort((a, b) => a - b);
    const seconds = times.reduce((a, b) => a + b, 0) / 1000;
    return {
      bench: "queue",
      case: "latency",
      backend,
      workers: 10,
      jobs: samples,
      per_s: round1(samples / seconds),
      p50_ms: round1(percentile(times, 50)),
    };
  } finally {
    await drop();
  }
}
