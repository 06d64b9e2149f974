// Scenario 5: thousands of random and malformed requests to every RPC over Connect (HTTP/1.1 and
// h2c), gRPC and gRPC-web. No process may crash, no answer may be a 5xx without a Connect code (or a
// gRPC answer without grpc-status), memory must stay flat, and the database must hold no
// half-written rows: exactly the runs and jobs the accepted requests created, each whole.
import { fromBinary, fromJsonString } from "@bufbuild/protobuf";
import { createKronosClient, toValue } from "../../../src/client/index.ts";
import { sql } from "../../../src/db/index.ts";
import {
  ForkRunResponseSchema,
  StartWorkflowResponseSchema,
  SubmitJobResponseSchema,
} from "../../../src/gen/kronos/v1/kronos_pb.ts";
import { fuzzRequestAt, type Known } from "../fuzz/requests.ts";
import { type Answer, Sender } from "../fuzz/send.ts";
import { chaosServer, Fleet, freshDatabase, type Member, PIPELINE, recordDir, until } from "../harness.ts";
import { halfWritten, tableCounts } from "../invariants.ts";
import type { FuzzProfile } from "../profiles.ts";
import { Outcome, percentile, type ScenarioResult } from "../result.ts";

/** What an accepted request created (a run or a job), read from its answer. */
function created(path: string, json: boolean, body: Uint8Array): { runId?: string; jobId?: string } {
  const method = path.split("/").at(-1);
  const schema =
    method === "StartWorkflow"
      ? StartWorkflowResponseSchema
      : method === "ForkRun"
        ? ForkRunResponseSchema
        : method === "SubmitJob"
          ? SubmitJobResponseSchema
          : undefined;
  if (!schema) return {};
  const msg = (json ? fromJsonString(schema, new TextDecoder().decode(body)) : fromBinary(schema, body)) as {
    run?: { id: string };
    job?: { id: bigint };
    deduplicated?: boolean;
  };
  if (msg.deduplicated) return {};
  return { runId: msg.run?.id, jobId: msg.job ? String(msg.job.id) : undefined };
}

const MiB = (n: number | undefined) => (n === undefined ? "–" : `${n.toFixed(0)} MiB`);

export async function badInputScenario(p: FuzzProfile, profile: string): Promise<ScenarioResult> {
  const out = new Outcome(5, "Bad input: malformed and random requests", profile);
  const server = await chaosServer();
  const sdb = await freshDatabase(server, "fuzz");
  const fleet = new Fleet({ url: sdb.url, size: 2, workflows: [PIPELINE], label: "s5", recordDir: recordDir() });
  try {
    await fleet.start();
    const members = fleet.live();
    // Real rows for plausible requests to find: two finished runs and two jobs nobody handles.
    const client = createKronosClient(`http://127.0.0.1:${members[0]?.node.adminPort}`);
    const known: Known = { runIds: [], jobIds: [] };
    for (let i = 0; i < 2; i++) {
      const { run } = await client.startWorkflow({
        workflowName: "data-pipeline",
        input: toValue({ userId: `k${i}` }),
      });
      known.runIds.push(run?.id as string);
      const { job } = await client.submitJob({ type: "fuzz-job" });
      known.jobIds.push(Number(job?.id));
    }
    await until(
      async () => {
        const [row] = await sdb.db.query<{ n: number }>(
          sql`SELECT count(*)::int AS n FROM kronos_runs WHERE status = 'completed'`,
        );
        return row?.n === 2;
      },
      { timeoutMs: 30_000 },
    );
    const before = await tableCounts(sdb.db);
    const [stepJobsBefore] = await sdb.db.query<{ n: number }>(sql`
      SELECT count(*)::int AS n FROM kronos_jobs WHERE type <> 'kronos.workflow_step'`);

    // RSS of each node, sampled while the requests go out.
    let sent = 0;
    const samples: { at: number; sent: number; rss: (number | undefined)[] }[] = [];
    let sampling = true;
    const t0 = performance.now();
    const sampler = (async () => {
      while (sampling) {
        samples.push({ at: performance.now() - t0, sent, rss: members.map((m) => fleet.rssMiB(m)) });
        await Bun.sleep(250);
      }
    })();

    const byTransport = new Map<string, Map<string, number>>();
    const byKind = new Map<string, Map<string, number>>();
    const anomalies: string[] = [];
    const createdRuns = new Set<string>();
    const createdJobs = new Set<string>();
    const latencies: number[] = [];
    const tally = (map: Map<string, Map<string, number>>, key: string, code: string) => {
      const inner = map.get(key) ?? new Map<string, number>();
      inner.set(code, (inner.get(code) ?? 0) + 1);
      map.set(key, inner);
    };
    let next = 0;
    const lane = async (laneNo: number) => {
      const senders = members.map((m: Member) => new Sender(m.node.adminPort, m.node.grpcPort as number));
      while (next < p.requests) {
        const i = next++;
        // Each request from its own seed: request i can be rebuilt alone (fuzzRequestAt).
        const req = fuzzRequestAt(p.seed, i, known);
        const a: Answer = await (senders[(i + laneNo) % senders.length] as Sender).send(req);
        sent++;
        if (a.code !== "stream-open") latencies.push(a.ms);
        tally(byTransport, req.transport, a.code);
        tally(byKind, req.kind.replace(/-\d+(KiB)?$/, ""), a.code);
        if (a.anomaly) anomalies.push(`#${i} ${req.transport} ${req.kind}: ${a.anomaly}`);
        if (a.code === "ok" && a.body) {
          try {
            const c = created(req.path, (req.headers["content-type"] ?? "").includes("json"), a.body);
            if (c.runId) createdRuns.add(c.runId);
            if (c.jobId) createdJobs.add(c.jobId);
          } catch (error) {
            anomalies.push(`${req.transport} ${req.kind}: an ok answer that does not decode (${String(error)})`);
          }
        }
      }
      for (const s of senders) s.close();
    };
    await Promise.all(Array.from({ length: p.concurrency }, (_, i) => lane(i)));
    const fuzzMs = performance.now() - t0;
    await Bun.sleep(3_000); // idle: what memory settles at
    sampling = false;
    await sampler;

    // Accepted starts run to the end; then the rows must be exactly what was accepted, each whole.
    const settled = await until(
      async () => {
        const [row] = await sdb.db.query<{ n: number }>(
          sql`SELECT count(*)::int AS n FROM kronos_runs WHERE status = 'running'`,
        );
        return row?.n === 0;
      },
      { timeoutMs: 60_000, everyMs: 250 },
    );
    const after = await tableCounts(sdb.db);
    const [stepJobsAfter] = await sdb.db.query<{ n: number }>(sql`
      SELECT count(*)::int AS n FROM kronos_jobs WHERE type <> 'kronos.workflow_step'`);
    const missingRuns = await sdb.db.query(sql`
      SELECT id FROM unnest(${[...createdRuns]}::uuid[]) AS c(id) WHERE NOT EXISTS (SELECT 1 FROM kronos_runs r WHERE r.id = c.id)`);
    const broken = await halfWritten(sdb.db, 6);
    // Still serving: a normal run on every node.
    const healthy = await Promise.all(
      fleet.live().map(async (m) => {
        const c = createKronosClient(`http://127.0.0.1:${m.node.adminPort}`);
        const { run } = await c.startWorkflow({ workflowName: "data-pipeline", input: toValue({ userId: "after" }) });
        return until(async () => (await c.getRun({ runId: run?.id as string })).run?.status === 2, {
          timeoutMs: 20_000,
        });
      }),
    );
    const internal = fleet.logs({ msg: "rpc failed with an unexpected error" });

    // Memory: the median of the samples taken between 10% and 20% of the requests (warmed up),
    // against the median of the last 10%, the peak, and the idle value at the end.
    const rssOf = (node: number, from: number, to: number) =>
      samples
        .filter((s) => s.sent >= from * p.requests && s.sent <= to * p.requests)
        .map((s) => s.rss[node])
        .filter((x): x is number => x !== undefined);
    const memory = members.map((_, n) => {
      const warm = percentile(rssOf(n, 0.1, 0.2), 50);
      const late = percentile(rssOf(n, 0.9, 1), 50);
      const peak = Math.max(...samples.map((s) => s.rss[n] ?? 0));
      const idle = samples.at(-1)?.rss[n];
      return { warm, late, peak, idle, growth: late - warm };
    });

    out.crashes(fleet.crashes);
    out.check(fleet.live().length === members.length, "a node is gone");
    out.check(healthy.every(Boolean), "a node no longer completes a normal run after the fuzz");
    out.check(
      anomalies.length === 0,
      `${anomalies.length} answers broke the rules: ${anomalies.slice(0, 5).join(" | ")}`,
    );
    out.check(settled, "runs started by accepted requests did not finish");
    for (const b of broken) out.fail(`half-written rows: ${b}`);
    out.check(missingRuns.length === 0, `${missingRuns.length} runs answered as created are not in the database`);
    out.check(
      after.runs - before.runs === createdRuns.size,
      `runs grew by ${after.runs - before.runs}, but accepted requests created ${createdRuns.size}`,
    );
    out.check(
      (stepJobsAfter?.n ?? 0) - (stepJobsBefore?.n ?? 0) === createdJobs.size,
      `plain jobs grew by ${(stepJobsAfter?.n ?? 0) - (stepJobsBefore?.n ?? 0)}, but accepted SubmitJob calls created ${createdJobs.size}`,
    );
    // Flat: once warm, a node's memory may not keep climbing with the number of requests.
    for (const [n, m] of memory.entries()) {
      out.check(
        m.growth <= Math.max(64, 0.3 * m.warm),
        `node ${n} RSS grew from ${MiB(m.warm)} (warm) to ${MiB(m.late)} over the fuzz`,
      );
    }

    const codes = new Map<string, number>();
    for (const inner of byTransport.values()) for (const [c, n] of inner) codes.set(c, (codes.get(c) ?? 0) + n);
    const top = [...codes].sort((a, b) => b[1] - a[1]);
    out.figure("requests", p.requests);
    out.figure("nodes", members.length);
    out.figure(
      "by transport",
      [...byTransport].map(([t, inner]) => `${t} ${[...inner.values()].reduce((a, b) => a + b, 0)}`).join(", "),
    );
    out.figure("answers by code", top.map(([c, n]) => `${c} ${n}`).join(", "));
    out.figure("5xx without a code / gRPC without grpc-status / hangs / resets", anomalies.length);
    out.figure("internal errors logged", internal.length);
    out.figure("requests per second", Math.round((p.requests / fuzzMs) * 1000));
    out.figure(
      "latency p50 / p99 (streams left open excluded)",
      `${percentile(latencies, 50).toFixed(0)} ms / ${percentile(latencies, 99).toFixed(0)} ms`,
    );
    out.figure(
      "RSS warm → end of fuzz (peak) → idle, per node",
      memory.map((m) => `${MiB(m.warm)} → ${MiB(m.late)} (${MiB(m.peak)}) → ${MiB(m.idle)}`).join("; "),
    );
    out.figure("runs / plain jobs created by accepted requests", `${createdRuns.size} / ${createdJobs.size}`);
    out.figure("half-written rows", broken.length);
    out.figure("crashes (unplanned exits)", fleet.crashes.length);
    out.notes.push(
      `Seeded generator (seed ${p.seed}): per request a transport (Connect JSON or binary over HTTP/1.1, Connect ` +
        "JSON over h2c, gRPC over h2c, gRPC-web), an RPC of KronosService or grpc.health.v1 (4% unknown paths, " +
        "some reflection streams) and a kind of damage. Kinds and how they were answered:",
      [...byKind]
        .sort((a, b) => a[0].localeCompare(b[0]))
        .map(([k, inner]) => `${k}: ${[...inner].map(([c, n]) => `${c} ${n}`).join(", ")}`)
        .join("; "),
      "A gRPC answer always carries grpc-status (in headers or trailers); `http-404`/`http-415` are plain HTTP " +
        "answers to unknown paths or content types, allowed by the Connect and gRPC specs. `stream-open`: a " +
        "valid stream the client closed after 2 s.",
      "Rows: the runs and plain jobs in the database after the fuzz are exactly those the accepted requests " +
        "reported creating (deduplicated answers excluded), and every run has its six step rows and a gapless " +
        "event log opening with run_started.",
    );
    if (internal.length > 0) {
      out.notes.push(
        `Internal errors logged: ${internal
          .slice(0, 3)
          .map((l) => `${l.method}: ${l.error}`)
          .join(" | ")}`,
      );
    }
    const every = Math.max(1, Math.ceil(samples.length / 20)); // about 20 rows in the report
    out.series = samples
      .filter((_, i) => i % every === 0 || i === samples.length - 1)
      .map((s) => ({
        s: Math.round(s.at / 100) / 10,
        sent: s.sent,
        ...Object.fromEntries(s.rss.map((r, n) => [`rss${n}`, Math.round(r ?? 0)])),
      }));
    return out.done();
  } finally {
    await fleet.destroy();
    await sdb.drop();
  }
}
