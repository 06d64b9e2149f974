import { describe, expect, test } from "bun:test";
import { createKronosMetrics, MetricsRegistry, PROMETHEUS_CONTENT_TYPE } from "../../src/metrics/index.ts";

describe("MetricsRegistry.render", () => {
  test("exact exposition text for a small registry", async () => {
    const registry = new MetricsRegistry();
    const jobs = registry.counter({ name: "jobs_total", help: "Jobs done.", labels: ["type", "outcome"] });
    const started = registry.counter({ name: "started_total", help: "Starts." });
    const inFlight = registry.gauge({ name: "in_flight", help: "Jobs running." });
    const latency = registry.histogram({
      name: "latency_seconds",
      help: "Latency.",
      labels: ["method"],
      buckets: [0.1, 1, 2.5],
    });
    registry.histogram({ name: "empty_seconds", help: "Never observed.", buckets: [1] });
    registry.counter({ name: "unused_total", help: "No series yet.", labels: ["kind"] });

    jobs.inc({ type: "email", outcome: "completed" });
    jobs.inc({ type: "email", outcome: "completed" }, 2);
    jobs.inc({ type: "sms", outcome: "failed" });
    started.inc();
    inFlight.set(5);
    inFlight.dec();
    latency.observe({ method: "Start" }, 0.05);
    latency.observe({ method: "Start" }, 0.5);
    latency.observe({ method: "Start" }, 3);

    expect(await registry.render()).toBe(
      [
        "# HELP jobs_total Jobs done.",
        "# TYPE jobs_total counter",
        'jobs_total{type="email",outcome="completed"} 3',
        'jobs_total{type="sms",outcome="failed"} 1',
        "# HELP started_total Starts.",
        "# TYPE started_total counter",
        "started_total 1",
        "# HELP in_flight Jobs running.",
        "# TYPE in_flight gauge",
        "in_flight 4",
        "# HELP latency_seconds Latency.",
        "# TYPE latency_seconds histogram",
        'latency_seconds_bucket{method="Start",le="0.1"} 1',
        'latency_seconds_bucket{method="Start",le="1"} 2',
        'latency_seconds_bucket{method="Start",le="2.5"} 2',
        'latency_seconds_bucket{method="Start",le="+Inf"} 3',
        'latency_seconds_sum{method="Start"} 3.55',
        'latency_seconds_count{method="Start"} 3',
        "# HELP empty_seconds Never observed.",
        "# TYPE empty_seconds histogram",
        'empty_seconds_bucket{le="1"} 0',
        'empty_seconds_bucket{le="+Inf"} 0',
        "empty_seconds_sum 0",
        "empty_seconds_count 0",
        "# HELP unused_total No series yet.",
        "# TYPE unused_total counter",
        "",
      ].join("\n"),
    );
    expect(PROMETHEUS_CONTENT_TYPE).toBe("text/plain; version=0.0.4; charset=utf-8");
  });

  test("an empty registry renders nothing", async () => {
    expect(await new MetricsRegistry().render()).toBe("");
  });

  test("escapes label values and help text", async () => {
    const registry = new MetricsRegistry();
    const c = registry.counter({ name: "odd_total", help: 'Back\\slash and\nnewline, "quotes" stay', labels: ["v"] });
    c.inc({ v: 'say "hi"\\n\nbye' });
    expect(await registry.render()).toBe(
      [
        '# HELP odd_total Back\\\\slash and\\nnewline, "quotes" stay',
        "# TYPE odd_total counter",
        'odd_total{v="say \\"hi\\"\\\\n\\nbye"} 1',
        "",
      ].join("\n"),
    );
  });

  test("special values", async () => {
    const registry = new MetricsRegistry();
    const g = registry.gauge({ name: "g", help: "G", labels: ["k"] });
    g.set({ k: "inf" }, Number.POSITIVE_INFINITY);
    g.set({ k: "ninf" }, Number.NEGATIVE_INFINITY);
    g.set({ k: "nan" }, Number.NaN);
    g.set({ k: "small" }, 1e-7);
    expect((await registry.render()).split("\n").slice(2)).toEqual([
      'g{k="inf"} +Inf',
      'g{k="ninf"} -Inf',
      'g{k="nan"} NaN',
      'g{k="small"} 1e-7',
      "",
    ]);
  });
});

describe("histograms", () => {
  test("bucket counts are cumulative, an observation on a bound falls in that bucket", () => {
    const registry = new MetricsRegistry();
    const h = registry.histogram({ name: "h", help: "H", buckets: [1, 2, 5] });
    for (const v of [0, 1, 1.5, 2, 4, 5, 6, 100]) h.observe(v);
    expect(h.get()).toEqual({
      buckets: [
        { le: 1, count: 2 },
        { le: 2, count: 4 },
        { le: 5, count: 6 },
        { le: Number.POSITIVE_INFINITY, count: 8 },
      ],
      sum: 119.5,
      count: 8,
    });
  });

  test("startTimer and bound handles record into the same series", () => {
    const registry = new MetricsRegistry();
    const h = registry.histogram({ name: "t_seconds", help: "T", labels: ["step"], buckets: [10] });
    const stop = h.startTimer({ step: "a" });
    const seconds = stop();
    h.labels({ step: "a" }).observe(20);
    expect(seconds).toBeGreaterThanOrEqual(0);
    expect(h.get({ step: "a" })).toMatchObject({ count: 2, buckets: [{ le: 10, count: 1 }, { count: 2 }] });
  });

  test("bad buckets and NaN are refused", () => {
    const registry = new MetricsRegistry();
    expect(() => registry.histogram({ name: "b1", help: "B", buckets: [1, 1] })).toThrow("increasing");
    expect(() => registry.histogram({ name: "b2", help: "B", buckets: [2, 1] })).toThrow("increasing");
    expect(() => registry.histogram({ name: "b3", help: "B", labels: ["le"] })).toThrow('"le" is not allowed');
    const h = registry.histogram({ name: "b4", help: "B", buckets: [1, Number.POSITIVE_INFINITY] });
    expect(h.buckets).toEqual([1]);
    expect(() => h.observe(Number.NaN)).toThrow(RangeError);
  });
});

describe("gauges read at scrape time", () => {
  test("an async collect sets the value on every render", async () => {
    const registry = new MetricsRegistry();
    let depth = 0;
    registry.gauge({
      name: "depth",
      help: "Depth",
      collect: async () => {
        await Promise.resolve();
        return ++depth * 10;
      },
    });
    expect(await registry.render()).toBe("# HELP depth Depth\n# TYPE depth gauge\ndepth 10\n");
    expect(await registry.render()).toBe("# HELP depth Depth\n# TYPE depth gauge\ndepth 20\n");
  });

  test("a labelled gauge's collect sets its own series", async () => {
    const registry = new MetricsRegistry();
    registry.gauge({
      name: "due",
      help: "Due",
      labels: ["queue"],
      collect: (gauge) => {
        gauge.reset();
        gauge.set({ queue: "default" }, 3);
        return undefined;
      },
    });
    expect(await registry.render()).toBe('# HELP due Due\n# TYPE due gauge\ndue{queue="default"} 3\n');
  });

  test("a failing collect drops that gauge's samples, not the scrape", async () => {
    const errors: [string, string][] = [];
    const registry = new MetricsRegistry({ onCollectError: (e, name) => errors.push([name, String(e)]) });
    registry.gauge({
      name: "depth",
      help: "Depth",
      collect: () => Promise.reject(new Error("database away")),
    });
    registry.counter({ name: "ok_total", help: "Ok" }).inc();
    expect(await registry.render()).toBe(
      "# HELP depth Depth\n# TYPE depth gauge\n# HELP ok_total Ok\n# TYPE ok_total counter\nok_total 1\n",
    );
    expect(errors).toEqual([["depth", "Error: database away"]]);
  });
});

describe("recording", () => {
  test("reads, bound handles and reset", () => {
    const registry = new MetricsRegistry();
    const c = registry.counter({ name: "c_total", help: "C", labels: ["a", "b"] });
    const bound = c.labels({ a: "1", b: "2" });
    bound.inc();
    bound.inc(4);
    c.inc({ a: "1", b: "2" });
    expect([c.get({ a: "1", b: "2" }), c.get({ a: "9", b: "9" })]).toEqual([6, 0]);
    c.reset();
    expect(c.get({ a: "1", b: "2" })).toBe(0);
  });

  test("label values that only differ in where they split are different series", () => {
    const registry = new MetricsRegistry();
    const c = registry.counter({ name: "split_total", help: "S", labels: ["a", "b"] });
    c.inc({ a: "x,y", b: "z" });
    c.inc({ a: "x", b: "y,z" });
    expect([c.get({ a: "x,y", b: "z" }), c.get({ a: "x", b: "y,z" })]).toEqual([1, 1]);
  });

  test("misuse is refused", () => {
    const registry = new MetricsRegistry();
    const c = registry.counter({ name: "m_total", help: "M", labels: ["a"] });
    expect(() => c.inc({ a: "x" }, -1)).toThrow(RangeError);
    expect(() => c.inc({ a: "x" }, Number.NaN)).toThrow(RangeError);
    expect(() => c.inc({ a: 5 as unknown as string })).toThrow("label a must be a string");
    expect(() => registry.counter({ name: "m_total", help: "again" })).toThrow("already registered");
    expect(() => registry.counter({ name: "bad-name", help: "B" })).toThrow("not valid");
    expect(() => registry.counter({ name: "l_total", help: "L", labels: ["__x"] })).toThrow("not allowed");
    expect(() => registry.counter({ name: "d_total", help: "D", labels: ["a", "a"] })).toThrow("repeats");
  });

  test("labels are checked at compile time", () => {
    const registry = new MetricsRegistry();
    const c = registry.counter({ name: "typed_total", help: "T", labels: ["type", "outcome"] });
    // @ts-expect-error a label name that does not exist
    expect(() => c.inc({ type: "x", outcom: "completed" })).toThrow(TypeError);
    // @ts-expect-error labels are required
    expect(() => c.inc()).toThrow(TypeError);
    const plain = registry.counter({ name: "plain_total", help: "P" });
    plain.inc(2);
    expect(plain.get()).toBe(2);
  });

  test("100k increments over a few series stay fast", () => {
    const registry = new MetricsRegistry();
    const c = registry.counter({ name: "fast_total", help: "F", labels: ["type", "outcome"] });
    const types = ["a", "b", "c", "d"];
    const start = performance.now();
    for (let i = 0; i < 100_000; i++) c.inc({ type: types[i & 3] as string, outcome: "completed" });
    expect(performance.now() - start).toBeLessThan(500); // ~10ms on a laptop; this catches O(n) lookups
    expect(c.get({ type: "a", outcome: "completed" })).toBe(25_000);
  });
});

describe("createKronosMetrics", () => {
  test("registers the Kronos metric set, with queue depth read at scrape time", async () => {
    const registry = new MetricsRegistry();
    const m = createKronosMetrics(registry, { queueDepth: async () => 42 });
    m.jobsCompleted.inc({ type: "email", outcome: "dead" });
    m.jobDuration.observe({ type: "email" }, 0.002);
    m.claimBatchSize.observe(10);
    m.rpcRequests.inc({ method: "StartRun", code: "ok" });
    m.rpcDuration.observe({ method: "StartRun" }, 0.01);
    m.workflowRuns.inc({ workflow: "etl", outcome: "completed" });
    m.stepDuration.observe({ workflow: "etl", step: "load" }, 1.5);
    // @ts-expect-error outcome is a closed set
    m.jobsCompleted.inc({ type: "email", outcome: "exploded" });

    const text = await registry.render();
    const samples = text.split("\n").filter((line) => line && !line.startsWith("#") && !line.includes("_bucket"));
    expect(samples).toEqual([
      'kronos_job_outcomes_total{type="email",outcome="dead"} 1',
      'kronos_job_outcomes_total{type="email",outcome="exploded"} 1',
      'kronos_job_duration_seconds_sum{type="email"} 0.002',
      'kronos_job_duration_seconds_count{type="email"} 1',
      "kronos_queue_depth 42",
      "kronos_claim_batch_size_sum 10",
      "kronos_claim_batch_size_count 1",
      'kronos_rpc_requests_total{method="StartRun",code="ok"} 1',
      'kronos_rpc_duration_seconds_sum{method="StartRun"} 0.01',
      'kronos_rpc_duration_seconds_count{method="StartRun"} 1',
      'kronos_workflow_runs_total{workflow="etl",outcome="completed"} 1',
      'kronos_step_duration_seconds_sum{workflow="etl",step="load"} 1.5',
      'kronos_step_duration_seconds_count{workflow="etl",step="load"} 1',
    ]);
    expect(text).toContain('kronos_job_duration_seconds_bucket{type="email",le="0.001"} 0');
    expect(text).toContain('kronos_job_duration_seconds_bucket{type="email",le="0.0025"} 1');
    expect(text).toContain('kronos_job_duration_seconds_bucket{type="email",le="60"} 1');
    expect(text).toContain('kronos_claim_batch_size_bucket{le="5"} 0');
    expect(text).toContain('kronos_claim_batch_size_bucket{le="10"} 1');
  });
});
