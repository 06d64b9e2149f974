// Scenario 4: SIGTERM a busy node, again and again. Its in-flight steps either finish within the
// grace period or are handed back (and run elsewhere); nothing is lost or recorded twice; the
// process exits 0, within the grace period plus the moment its listeners get to close.
import { sql } from "../../../src/db/index.ts";
import { chaosServer, Fleet, freshDatabase, type Member, PIPELINE, recordDir, until } from "../harness.ts";
import {
  auditRuns,
  failureReasons,
  invocationHistogram,
  readInvocations,
  runStatusCounts,
  stepHistory,
} from "../invariants.ts";
import type { SigtermProfile } from "../profiles.ts";
import { ms, Outcome, percentile, type ScenarioResult } from "../result.ts";
import { Submitter } from "../submitter.ts";

/** How long the listeners get to finish in-flight requests after the workers drained (servers.ts). */
const LISTENER_GRACE_MS = 2_000;

export async function sigtermScenario(p: SigtermProfile, profile: string): Promise<ScenarioResult> {
  const out = new Outcome(4, "SIGTERM under load: drain or hand back", profile);
  const server = await chaosServer();
  const sdb = await freshDatabase(server, "sigterm");
  const dir = recordDir();
  const fleet = new Fleet({
    url: sdb.url,
    size: p.nodes,
    workflows: [PIPELINE],
    label: "s4",
    recordDir: dir,
    env: { KRONOS_SHUTDOWN_GRACE: `${p.graceMs}ms` },
  });
  try {
    await fleet.start();
    const submitter = new Submitter(fleet, "data-pipeline");
    const items = Array.from({ length: p.runs }, (_, i) => ({
      key: `s4-${i}`,
      input:
        i % p.slowEvery === 0
          ? { userId: `u${i}`, sleepMs: 100, slowStep: "validate", slowMs: p.slowMs }
          : { userId: `u${i}`, sleepMs: 100 + (i % 3) * 100 },
    }));
    const keys = items.map((i) => i.key);
    let submitted = false;
    const submitting = submitter.startAll(items, { concurrency: 4, perSecond: p.perSecond }).then(() => {
      submitted = true;
    });
    const terms: {
      nodeId: string;
      inFlight: number;
      code: number;
      exitMs: number;
      finished?: boolean;
      handedBack?: number;
    }[] = [];
    for (let round = 0; round < p.rounds; round++) {
      await Bun.sleep(p.everyMs);
      if (submitted && (await runStatusCounts(sdb.db, keys)).completed === p.runs) break;
      // A node with steps in flight (the point is to stop one mid-work), at random.
      const held = await sdb.db.query<{ owner: string; n: number }>(sql`
        SELECT lease_owner AS owner, count(*)::int AS n FROM kronos_jobs WHERE state = 'running' GROUP BY 1`);
      const load = new Map(held.map((h) => [h.owner, h.n]));
      const busy = fleet.live().filter((m) => (load.get(m.nodeId) ?? 0) > 0);
      const pool = busy.length > 0 ? busy : fleet.live();
      const victim = pool[Math.floor(Math.random() * pool.length)] as Member;
      const { code, ms: exitMs } = await fleet.signal(victim, "SIGTERM");
      const stopped = victim.node.logs.find((l) => l.msg === "stopped") as
        | { finished: boolean; handedBack: number }
        | undefined;
      terms.push({
        nodeId: victim.nodeId,
        inFlight: load.get(victim.nodeId) ?? 0,
        code,
        exitMs,
        finished: stopped?.finished,
        handedBack: stopped?.handedBack,
      });
      await fleet.spawn(victim.slot);
    }
    await submitting;
    const finished = await until(async () => (await runStatusCounts(sdb.db, keys)).completed === p.runs, {
      timeoutMs: p.settleMs,
      everyMs: 250,
    });
    await fleet.stop();

    const audit = await auditRuns(sdb.db, keys);
    const runIds = [...submitter.started.values()].map((s) => s.runId);
    const inv = readInvocations(dir);
    const h = invocationHistogram(inv, runIds);
    const exits = terms.map((t) => t.exitMs);
    const handedBack = terms.reduce((a, t) => a + (t.handedBack ?? 0), 0);
    const bound = p.graceMs + LISTENER_GRACE_MS + 1_000;
    out.audit(audit);
    out.crashes(fleet.crashes);
    out.check(finished, `not every run finished within ${ms(p.settleMs)}`);
    out.check(submitter.gaveUp.length === 0, `${submitter.gaveUp.length} runs could not be started over the API`);
    out.check(terms.length > 0, "no node was stopped");
    out.check(
      terms.every((t) => t.code === 0),
      `SIGTERM exit codes: ${terms.map((t) => t.code).join(", ")} (want 0)`,
    );
    out.check(
      terms.every((t) => t.handedBack !== undefined),
      "a stopped node did not log how its drain ended",
    );
    out.check(
      exits.every((e) => e <= bound),
      `a node took longer than ${ms(bound)} to exit: ${exits.map(ms).join(", ")}`,
    );
    // Without kills, a step runs again only when a drain handed it back: one extra call per hand-back.
    const extra = h.calls - runIds.length * 6;
    if (extra !== handedBack) {
      const twice = [...inv.perStep].filter(([, n]) => n > 1).slice(0, 3);
      const histories = await Promise.all(
        twice.map(
          async ([k]) => `${k}: ${(await stepHistory(sdb.db, ...(k.split(" ") as [string, string]))).join(", ")}`,
        ),
      );
      out.fail(`${extra} extra step invocations but ${handedBack} steps handed back; e.g. ${histories.join(" | ")}`);
    }

    out.figure("runs", p.runs);
    out.figure("nodes", p.nodes);
    out.figure("SIGTERMs", terms.length);
    out.figure("KRONOS_SHUTDOWN_GRACE", ms(p.graceMs));
    out.figure(
      "steps in flight at SIGTERM",
      terms.reduce((a, t) => a + t.inFlight, 0),
    );
    out.figure("drains that finished every step in the grace", terms.filter((t) => t.finished).length);
    out.figure("steps handed back (longer than the grace)", handedBack);
    out.figure("exit codes", [...new Set(terms.map((t) => t.code))].join(", "));
    out.figure("exit after SIGTERM p50 / max", `${ms(percentile(exits, 50))} / ${ms(Math.max(...exits))}`);
    out.figure("exits later than the grace alone", exits.filter((e) => e > p.graceMs).length);
    out.figure("runs completed", audit.completed);
    out.figure("lost runs", audit.lost);
    out.figure("doubly-recorded step completions", audit.doubleCompletions);
    out.figure("steps run more than once (extra invocations)", `${h.twice + h.more} (${h.calls - runIds.length * 6})`);
    const reasons = await failureReasons(sdb.db, runIds);
    out.figure("failed attempts recorded", reasons.map(([e, n]) => `${n}× ${e}`).join("; ") || "0");
    out.figure("crashes (unplanned exits)", fleet.crashes.length);
    out.notes.push(
      `Every ${p.slowEvery}th run has a "validate" step of ${ms(p.slowMs)}, longer than the grace, so a drain ` +
        "must hand it back: the step's signal fires, the job returns to the queue without using an attempt, and " +
        "another node runs it again (the 'run more than once' figure). The other steps take 100–300 ms.",
      `After the workers drain, the node's listeners get up to ${ms(LISTENER_GRACE_MS)} for in-flight requests, ` +
        `so the bound checked is grace + ${ms(LISTENER_GRACE_MS)} + 1 s of process teardown.`,
    );
    return out.done();
  } finally {
    await fleet.destroy();
    await sdb.drop();
  }
}
