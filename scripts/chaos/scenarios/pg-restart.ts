// Scenario 2: restart PostgreSQL (pg_ctl stop -m fast, then start) while runs are being started
// and executed. The nodes must reconnect by themselves, report NOT_SERVING then SERVING over
// grpc.health.v1 Watch and /healthz, and every run must finish. No node may exit.

import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { sql } from "../../../src/db/index.ts";
import type { LocalPostgres } from "../../../src/db/local-server.ts";
import { Health, HealthCheckResponse_ServingStatus as Serving } from "../../../src/gen/grpc/health/v1/health_pb.ts";
import { Fleet, freshDatabase, ownServer, PIPELINE, recordDir, until } from "../harness.ts";
import { auditRuns, invocationHistogram, readInvocations, runStatusCounts } from "../invariants.ts";
import type { PgRestartProfile } from "../profiles.ts";
import { ms, Outcome, percentile, type ScenarioResult } from "../result.ts";
import { Submitter } from "../submitter.ts";

/**
 * `pg_ctl stop` without blocking this process's event loop (LocalPostgres.stop is synchronous, and
 * health transitions must be timed while it runs). `server.start()` brings it back.
 */
async function stopServer(server: LocalPostgres, mode: "fast" | "immediate"): Promise<void> {
  const onPath = Bun.which("pg_ctl");
  const bin = onPath ?? (await Array.fromAsync(new Bun.Glob("/usr/lib/postgresql/*/bin/pg_ctl").scan())).sort().at(-1);
  if (!bin) throw new Error("pg_ctl not found");
  const args = [bin, "-D", server.dataDir, "-m", mode, "-w", "stop"];
  const child = Bun.spawn(process.getuid?.() === 0 ? ["runuser", "-u", "postgres", "--", ...args] : args, {
    stdout: "ignore",
    stderr: "pipe",
  });
  const [code, err] = await Promise.all([child.exited, new Response(child.stderr).text()]);
  if (code !== 0) throw new Error(`pg_ctl stop failed (${code}): ${err}`);
}

interface HealthTransition {
  status: string;
  at: number;
}

/**
 * Follows a node's grpc.health.v1 Watch stream over h2c and records every status with the time it
 * arrived (performance.now()). Reconnects if the stream breaks. Returns the function that stops it.
 */
function watchHealth(grpcPort: number, seen: HealthTransition[]): () => void {
  const abort = new AbortController();
  void (async () => {
    const client = createClient(Health, createGrpcTransport({ baseUrl: `http://127.0.0.1:${grpcPort}` }));
    while (!abort.signal.aborted) {
      try {
        for await (const res of client.watch({ service: "" }, { signal: abort.signal })) {
          const status = Serving[res.status] ?? String(res.status);
          if (seen.at(-1)?.status !== status) seen.push({ status, at: performance.now() });
        }
      } catch {
        if (!abort.signal.aborted) await Bun.sleep(100);
      }
    }
  })();
  return () => abort.abort();
}

export async function pgRestartScenario(p: PgRestartProfile, profile: string): Promise<ScenarioResult> {
  const out = new Outcome(2, "Restart PostgreSQL mid-load", profile);
  const server = await ownServer();
  const sdb = await freshDatabase(server, "restart");
  const dir = recordDir();
  // The default poll interval (2s): if LISTEN were not re-established after the restart, runs
  // would crawl at one step per poll and the latency after the restart would show it.
  const fleet = new Fleet({
    url: sdb.url,
    size: p.nodes,
    workflows: [PIPELINE],
    label: "s2",
    recordDir: dir,
    env: { SCHEDULER_POLL_INTERVAL: "2s" },
  });
  const stops: (() => void)[] = [];
  try {
    await fleet.start();
    const members = fleet.live();
    const pids = members.map((m) => m.node.proc.pid);
    const health = members.map((m) => {
      const seen: HealthTransition[] = [];
      stops.push(watchHealth(m.node.grpcPort as number, seen));
      return seen;
    });
    // /healthz as a load balancer sees it.
    const http503 = members.map(() => 0);
    let polling = true;
    const pollers = members.map(async (m, i) => {
      while (polling) {
        const res = await fetch(`http://127.0.0.1:${m.node.adminPort}/healthz`).catch(() => undefined);
        if (res?.status === 503) http503[i] = (http503[i] ?? 0) + 1;
        await res?.arrayBuffer().catch(() => {});
        await Bun.sleep(100);
      }
    });
    await until(() => health.every((h) => h.at(-1)?.status === "SERVING"), { timeoutMs: 10_000, everyMs: 50 });

    const submitter = new Submitter(fleet, "data-pipeline", 120_000);
    const items = Array.from({ length: p.runs }, (_, i) => ({
      key: `s2-${i}`,
      input: { userId: `u${i}`, sleepMs: (i % 4) * 10 },
    }));
    const keys = items.map((i) => i.key);
    const submitting = submitter.startAll(items, { concurrency: 4, perSecond: p.perSecond });
    await until(() => submitter.started.size >= p.runs / 3, { timeoutMs: 60_000, everyMs: 20 });

    const stopAt = new Date();
    const t0 = performance.now();
    await stopServer(server, "fast");
    const stoppedAt = performance.now();
    await Bun.sleep(p.downMs);
    const allNotServing = health.every((h) => h.some((x) => x.status === "NOT_SERVING" && x.at >= t0));
    const startBegin = performance.now();
    server.start(); // synchronous: pg_ctl start -w returns once connections are accepted
    const upAt = performance.now();
    const startedWall = new Date();
    await until(() => health.every((h) => h.at(-1)?.status === "SERVING" && (h.at(-1)?.at ?? 0) >= stoppedAt), {
      timeoutMs: 30_000,
      everyMs: 20,
    });
    const detect = health.map((h) => (h.find((x) => x.status === "NOT_SERVING" && x.at >= t0)?.at ?? Number.NaN) - t0);
    const recover = health.map(
      (h) => (h.findLast((x) => x.status === "SERVING" && x.at >= stoppedAt)?.at ?? Number.NaN) - upAt,
    );
    await submitting;
    const finished = await until(async () => (await runStatusCounts(sdb.db, keys)).completed === p.runs, {
      timeoutMs: p.settleMs,
      everyMs: 250,
    });
    polling = false;
    await Promise.all(pollers);
    for (const stop of stops) stop();
    const samePids = fleet.live().map((m) => m.node.proc.pid);
    const latency = async (where: "before" | "after") => {
      const rows = await sdb.db.query<{ ms: number }>(sql`
        SELECT extract(epoch FROM finished_at - created_at) * 1000 AS ms FROM kronos_runs
        WHERE idempotency_key = ANY(${keys}::text[]) AND status = 'completed'
          AND CASE WHEN ${where} = 'before' THEN finished_at < ${stopAt} ELSE created_at > ${startedWall} END`);
      return rows.map((r) => Number(r.ms));
    };
    const before = await latency("before");
    const after = await latency("after");
    const outageErrors = fleet.logs({ level: "error" });
    await fleet.stop();

    const audit = await auditRuns(sdb.db, keys);
    const runIds = [...submitter.started.values()].map((s) => s.runId);
    const h = invocationHistogram(readInvocations(dir), runIds);
    out.audit(audit);
    out.crashes(fleet.crashes);
    out.check(finished, `not every run finished within ${ms(p.settleMs)}`);
    out.check(submitter.gaveUp.length === 0, `${submitter.gaveUp.length} runs could not be started over the API`);
    out.check(
      JSON.stringify(pids) === JSON.stringify(samePids),
      `node processes changed (${pids} -> ${samePids}): a node exited`,
    );
    out.check(allNotServing, "not every node reported NOT_SERVING while PostgreSQL was down");
    out.check(
      recover.every((r) => Number.isFinite(r)),
      "not every node reported SERVING again after the restart",
    );
    out.check(
      http503.every((n) => n > 0),
      `/healthz did not answer 503 on every node during the outage (${http503})`,
    );
    // Unavailable is the answer while the database is away. A call the client gave up on after
    // 15 s (deadline_exceeded) hung on a poisoned postgres.js connection (see the notes); any
    // other code would be a mapping bug.
    const unexpected = [...submitter.failedCalls].filter(
      ([code]) => !["unavailable", "deadline_exceeded"].includes(code),
    );
    out.check(
      unexpected.length === 0,
      `API calls during the outage failed with codes other than unavailable: ${JSON.stringify(unexpected)}` +
        ` (error log lines: ${JSON.stringify(outageErrors.slice(0, 3))})`,
    );

    out.figure("runs", p.runs);
    out.figure("nodes", p.nodes);
    out.figure("PostgreSQL down for", ms(upAt - t0));
    out.figure("pg_ctl stop -m fast / start took", `${ms(stoppedAt - t0)} / ${ms(upAt - startBegin)}`);
    out.figure("runs started before the stop", runIds.length > 0 ? Math.round(p.runs / 3) : 0);
    out.figure("NOT_SERVING after the stop (per node)", detect.map(ms).join(", "));
    out.figure("SERVING again after the start (per node)", recover.map(ms).join(", "));
    out.figure("/healthz 503 answers seen (per node)", http503.join(", "));
    out.figure(
      "API calls refused during the outage",
      [...submitter.failedCalls].map(([c, n]) => `${n} ${c}`).join(", ") || "0",
    );
    out.figure("runs completed", audit.completed);
    out.figure("lost runs", audit.lost);
    out.figure("stuck runs", audit.stuck);
    out.figure("doubly-recorded step completions", audit.doubleCompletions);
    out.figure("steps run more than once", h.twice + h.more);
    out.figure(
      "run latency p50 before / after the restart",
      `${ms(percentile(before, 50))} / ${ms(percentile(after, 50))}`,
    );
    out.figure("error log lines", outageErrors.length);
    out.figure("node restarts or crashes", fleet.crashes.length);
    out.notes.push(
      "Health is read from a grpc.health.v1 Watch stream per node (gRPC over h2c) and /healthz polled every 100 ms. " +
        "Each node checks the database once a second, so NOT_SERVING shows within about a second of the stop.",
      "SERVING is timed from the moment `pg_ctl start -w` returned (the server accepts connections).",
      "deadline_exceeded: a StartWorkflow call the client abandoned after 15 s (it is retried with the same " +
        "idempotency key, so nothing is lost). Such stalls came from a postgres.js 3.4.9 bug (porsager/postgres#1208) " +
        "that npm's postinstall now fixes (scripts/fix-postgres-js.mjs).",
    );
    return out.done();
  } finally {
    for (const stop of stops) stop();
    await fleet.destroy();
    await sdb.drop().catch(() => {});
  }
}
