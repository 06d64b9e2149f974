// Scenario 6 (long run only): steady load for a long time. Sampled over time: throughput, run
// latency p50/p99, StartWorkflow latency, RSS of every node, rows and bytes of every table, and
// what retention deleted; with a short KRONOS_RETENTION the tables must level off, not grow.
import { sql } from "../../../src/db/index.ts";
import { chaosServer, Fleet, freshDatabase, PIPELINE, recordDir, until } from "../harness.ts";
import { auditRuns, type TableCounts, tableCounts } from "../invariants.ts";
import type { SoakProfile } from "../profiles.ts";
import { ms, Outcome, percentile, type ScenarioResult } from "../result.ts";
import { Submitter } from "../submitter.ts";

interface Sample {
  min: number;
  runsPerSec: number;
  p50: number;
  p99: number;
  startP99: number;
  rss: number[];
  rows: TableCounts;
  dbMiB: number;
  retentionDeleted: number;
  stuck: number;
  /** Taken while the load was still being offered (not during the drain at the end). */
  loaded: boolean;
}

export async function soakScenario(p: SoakProfile, profile: string): Promise<ScenarioResult> {
  const out = new Outcome(6, "Soak: steady load with retention", profile);
  const server = await chaosServer();
  const sdb = await freshDatabase(server, "soak");
  const fleet = new Fleet({
    url: sdb.url,
    size: p.nodes,
    workflows: [PIPELINE],
    label: "s6",
    recordDir: recordDir(),
    env: { KRONOS_RETENTION: p.retention, KRONOS_LEASE: "10s" },
  });
  try {
    await fleet.start();
    const submitter = new Submitter(fleet, "data-pipeline");
    const total = Math.round(p.perSecond * p.minutes * 60);
    const items = Array.from({ length: total }, (_, i) => ({
      key: `s6-${i}`,
      input: { userId: `u${i % 5000}`, sleepMs: i % 21 },
    }));
    const t0 = performance.now();
    const loading = submitter.startAll(items, { concurrency: 8, perSecond: p.perSecond });
    let done = false;
    void loading.then(() => {
      done = true;
    });

    const retention = () =>
      fleet.logs({ msg: "retention deleted old rows" }) as { runs: number; jobs: number; blobs: number }[];
    const samples: Sample[] = [];
    let windowStart = new Date();
    let lastAt = performance.now();
    const sample = async () => {
      const now = new Date();
      const [lat] = await sdb.db.query<{ n: number; p50: number | null; p99: number | null }>(sql`
        SELECT count(*)::int AS n,
               percentile_disc(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM finished_at - created_at) * 1000) AS p50,
               percentile_disc(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM finished_at - created_at) * 1000) AS p99
        FROM kronos_runs WHERE finished_at > ${windowStart} AND finished_at <= ${now}`);
      const [size] = await sdb.db.query<{ bytes: number }>(
        sql`SELECT pg_database_size(current_database())::float8 AS bytes`,
      );
      const [stuck] = await sdb.db.query<{ n: number }>(sql`
        SELECT count(*)::int AS n FROM kronos_runs WHERE status = 'running' AND created_at < now() - interval '60 seconds'`);
      const nowPerf = performance.now();
      const starts = [...submitter.started.values()].filter((s) => s.at > lastAt && s.at <= nowPerf).map((s) => s.ms);
      const seconds = (now.getTime() - windowStart.getTime()) / 1000;
      const r = retention();
      samples.push({
        min: Math.round(((nowPerf - t0) / 60_000) * 10) / 10,
        runsPerSec: Math.round(((lat?.n ?? 0) / seconds) * 10) / 10,
        p50: Number(lat?.p50 ?? Number.NaN),
        p99: Number(lat?.p99 ?? Number.NaN),
        startP99: percentile(starts, 99),
        rss: fleet.live().map((m) => Math.round(fleet.rssMiB(m) ?? 0)),
        rows: await tableCounts(sdb.db),
        dbMiB: Math.round((size?.bytes ?? 0) / 1_048_576),
        retentionDeleted: r.reduce((a, x) => a + x.runs, 0),
        stuck: stuck?.n ?? 0,
        loaded: !done,
      });
      windowStart = now;
      lastAt = nowPerf;
    };
    while (!done) {
      await Promise.race([Bun.sleep(p.sampleEveryMs), loading]);
      await sample();
    }
    const drained = await until(
      async () => {
        const [row] = await sdb.db.query<{ n: number }>(
          sql`SELECT count(*)::int AS n FROM kronos_runs WHERE status = 'running'`,
        );
        return row?.n === 0;
      },
      { timeoutMs: 120_000, everyMs: 500 },
    );
    await sample();
    await fleet.stop();

    // Accounting: every run started is in the database, or was deleted by retention.
    const keys = items.map((i) => i.key);
    const present = await sdb.db.query<{ key: string }>(sql`
      SELECT idempotency_key AS key FROM kronos_runs WHERE idempotency_key = ANY(${keys}::text[])`);
    const passes = retention();
    const deletedRuns = passes.reduce((a, x) => a + x.runs, 0);
    const audit = await auditRuns(
      sdb.db,
      present.map((r) => r.key),
    );
    const missing = submitter.started.size - present.length - deletedRuns;
    out.audit(audit);
    out.crashes(fleet.crashes);
    out.check(drained, "runs still running two minutes after the load stopped");
    out.check(missing === 0, `${missing} started runs are neither in the database nor deleted by retention`);
    out.check(submitter.gaveUp.length === 0, `${submitter.gaveUp.length} runs could not be started over the API`);
    out.check(passes.length > 0 || p.minutes < 5, "retention deleted nothing");
    out.check(
      samples.every((s) => s.stuck === 0),
      "runs stayed running for more than 60 s",
    );
    // Level, not growing: in the second half, no more rows than at the end of the first half × 1.5.
    const half = samples.filter((s) => s.min >= p.minutes / 2);
    const mid = half[0]?.rows.runs ?? 0;
    const maxLate = Math.max(...half.map((s) => s.rows.runs ?? 0));
    if (p.minutes >= 10)
      out.check(maxLate <= mid * 1.5, `kronos_runs kept growing: ${mid} at half time, up to ${maxLate} later`);

    // Past the first minute (or quarter of a short soak): the fleet warmed up, retention started.
    const steady = samples.filter((s) => s.loaded && s.min > Math.min(1, p.minutes / 4));
    const rssFirst = steady[0]?.rss ?? [];
    const rssLast = steady.at(-1)?.rss ?? [];
    out.figure("duration", `${p.minutes} min`);
    out.figure("nodes", p.nodes);
    out.figure("offered load", `${p.perSecond} runs/s (six steps each)`);
    out.figure("runs started", submitter.started.size);
    out.figure(
      "throughput (runs/s, min / median / max per sample)",
      `${Math.min(...steady.map((s) => s.runsPerSec))} / ${percentile(
        steady.map((s) => s.runsPerSec),
        50,
      )} / ${Math.max(...steady.map((s) => s.runsPerSec))}`,
    );
    out.figure(
      "run latency p50 (median of samples)",
      ms(
        percentile(
          steady.map((s) => s.p50),
          50,
        ),
      ),
    );
    out.figure(
      "run latency p99 (median / worst sample)",
      `${ms(
        percentile(
          steady.map((s) => s.p99),
          50,
        ),
      )} / ${ms(Math.max(...steady.map((s) => s.p99)))}`,
    );
    out.figure(
      "StartWorkflow p99 (median of samples)",
      ms(
        percentile(
          steady.map((s) => s.startP99),
          50,
        ),
      ),
    );
    out.figure(
      "RSS per node, first → last sample",
      rssFirst.map((r, i) => `${r} → ${rssLast[i] ?? "–"} MiB`).join("; "),
    );
    out.figure("KRONOS_RETENTION", p.retention);
    out.figure("retention passes / runs deleted", `${passes.length} / ${deletedRuns}`);
    out.figure("deleted per pass (runs, max)", passes.length ? Math.max(...passes.map((x) => x.runs)) : 0);
    out.figure("kronos_runs rows at half time / end", `${mid} / ${samples.at(-1)?.rows.runs ?? 0}`);
    out.figure("database size at half time / end", `${half[0]?.dbMiB ?? 0} MiB / ${samples.at(-1)?.dbMiB ?? 0} MiB`);
    out.figure("lost runs", Math.max(0, missing));
    out.figure("doubly-recorded step completions", audit.doubleCompletions);
    out.figure("crashes (unplanned exits)", fleet.crashes.length);
    out.notes.push(
      `Each sample covers the last ${ms(p.sampleEveryMs)}: runs finished in it (per second), their latency from ` +
        "start to finish (p50, p99), the p99 of StartWorkflow calls answered in it, RSS of each node, row counts " +
        "and the database size. Retention runs on the leader once a minute and deletes at most 10 batches of " +
        "1,000 rows per table per pass.",
    );
    out.series = samples.map((s) => ({
      min: s.min,
      "runs/s": s.runsPerSec,
      "p50 ms": Math.round(s.p50),
      "p99 ms": Math.round(s.p99),
      "start p99 ms": Math.round(s.startP99),
      "RSS MiB": s.rss.join("/"),
      runs: s.rows.runs ?? 0,
      jobs: s.rows.jobs ?? 0,
      events: s.rows.events ?? 0,
      blobs: s.rows.blobs ?? 0,
      "db MiB": s.dbMiB,
      "retention deleted runs": s.retentionDeleted,
    }));
    return out.done();
  } finally {
    await fleet.destroy();
    await sdb.drop();
  }
}
