// Scenario 1: SIGKILL a random node every few seconds while runs of the example DAG are in flight.
// Every run must finish, no step completion may be recorded twice, nothing may stay stuck; how
// often a step ran more than once (at-least-once) is counted from the fixtures' records.
import { sql } from "../../../src/db/index.ts";
import { chaosServer, Fleet, freshDatabase, type Member, PIPELINE, recordDir, until } from "../harness.ts";
import { auditRuns, invocationHistogram, readInvocations, runStatusCounts } from "../invariants.ts";
import type { KillProfile } from "../profiles.ts";
import { mean, ms, Outcome, pct, percentile, type ScenarioResult } from "../result.ts";
import { Submitter } from "../submitter.ts";

export async function killScenario(p: KillProfile, profile: string): Promise<ScenarioResult> {
  const out = new Outcome(1, "SIGKILL a random node every few seconds", profile);
  const server = await chaosServer();
  const sdb = await freshDatabase(server, "kill");
  const dir = recordDir();
  const fleet = new Fleet({ url: sdb.url, size: p.nodes, workflows: [PIPELINE], label: "s1", recordDir: dir });
  try {
    await fleet.start();
    const submitter = new Submitter(fleet, "data-pipeline");
    const items = Array.from({ length: p.runs }, (_, i) => ({
      key: `s1-${i}`,
      input: { userId: `u${i}`, sleepMs: (i % 5) * 40 },
    }));
    const keys = items.map((i) => i.key);
    const t0 = performance.now();
    let submitted = false;
    const submitting = submitter.startAll(items, { concurrency: 8, perSecond: p.perSecond }).then(() => {
      submitted = true;
    });
    const allDone = async () => (await runStatusCounts(sdb.db, keys)).completed === p.runs;

    // The killer: a random node, SIGKILL, a new process in its slot. Each kill's recovery is the
    // time until no job is left running under the dead node's lease.
    const kills: { nodeId: string; inFlight: number; recoveryMs?: number; respawnMs: number }[] = [];
    const recoveries: Promise<void>[] = [];
    while (kills.length < p.maxKills) {
      await Bun.sleep(p.killEveryMs * (0.7 + 0.6 * Math.random()));
      if (submitted && (await allDone())) break;
      const victim = fleet.pick() as Member;
      const [held] = await sdb.db.query<{ n: number }>(sql`
        SELECT count(*)::int AS n FROM kronos_jobs WHERE state = 'running' AND lease_owner = ${victim.nodeId}`);
      const killedAt = performance.now();
      await fleet.signal(victim, "SIGKILL");
      const t = performance.now();
      await fleet.spawn(victim.slot);
      const kill = { nodeId: victim.nodeId, inFlight: held?.n ?? 0, respawnMs: performance.now() - t };
      kills.push(kill);
      recoveries.push(
        until(
          async () => {
            const [row] = await sdb.db.query<{ n: number }>(sql`
              SELECT count(*)::int AS n FROM kronos_jobs WHERE state = 'running' AND lease_owner = ${victim.nodeId}`);
            return row?.n === 0;
          },
          { timeoutMs: 60_000, everyMs: 50 },
        ).then((ok) => {
          if (ok) (kill as { recoveryMs?: number }).recoveryMs = performance.now() - killedAt;
        }),
      );
    }
    await submitting;
    const finished = await until(allDone, { timeoutMs: p.settleMs, everyMs: 250 });
    const wallMs = performance.now() - t0;
    await Promise.all(recoveries);
    await fleet.stop();

    const audit = await auditRuns(sdb.db, keys);
    const runIds = [...submitter.started.values()].map((s) => s.runId);
    const inv = readInvocations(dir);
    const h = invocationHistogram(inv, runIds);
    const recovered = kills.flatMap((k) => (k.recoveryMs === undefined ? [] : [k.recoveryMs]));
    out.audit(audit);
    out.crashes(fleet.crashes);
    out.check(finished, `not every run finished within ${ms(p.settleMs)} of the last start`);
    out.check(submitter.gaveUp.length === 0, `${submitter.gaveUp.length} runs could not be started over the API`);
    out.check(h.never === 0, `${h.never} completed steps have no recorded invocation (harness fault)`);
    out.check(recovered.length === kills.length, `${kills.length - recovered.length} kills left jobs running for 60 s`);
    out.check(kills.length > 0, "no node was killed");

    out.figure("runs started (API, idempotency keys)", p.runs);
    out.figure("nodes", p.nodes);
    out.figure("SIGKILLs", kills.length);
    out.figure(
      "steps in flight on the killed nodes",
      kills.reduce((a, k) => a + k.inFlight, 0),
    );
    out.figure("runs completed", audit.completed);
    out.figure("lost runs", audit.lost);
    out.figure("stuck runs", audit.stuck);
    out.figure("doubly-recorded step completions", audit.doubleCompletions);
    out.figure("step invocations (6 steps × runs)", `${h.calls} for ${runIds.length * 6} steps`);
    out.figure("steps run once", `${h.once} (${pct(h.once, runIds.length * 6)})`);
    out.figure("steps run twice", `${h.twice} (${pct(h.twice, runIds.length * 6)})`);
    out.figure("steps run 3+ times", h.more);
    out.figure("most invocations of one step", h.maxCalls);
    out.figure("recovery after a kill (mean / max)", `${ms(mean(recovered))} / ${ms(Math.max(...recovered))}`);
    out.figure(
      "replacement node ready (p50)",
      ms(
        percentile(
          kills.map((k) => k.respawnMs),
          50,
        ),
      ),
    );
    out.figure("API start retries (failed calls)", submitter.failedCallsTotal());
    out.figure("all runs done after", ms(wallMs));
    out.figure("crashes (unplanned exits)", fleet.crashes.length);
    out.notes.push(
      "Recovery: from the SIGKILL until no job is left running under the dead node's lease " +
        "(KRONOS_LEASE=2s, so the lease reaper on the leader hands its steps to the others).",
      "Invocations are counted by the fixture itself (one line per call, per process); a step that ran " +
        "twice was in flight in a killed node and ran again elsewhere: its completion was still recorded once.",
    );
    return out.done();
  } finally {
    await fleet.destroy();
    await sdb.drop();
  }
}
