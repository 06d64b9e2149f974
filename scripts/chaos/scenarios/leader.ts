// Scenario 3: kill the leader. Another node must lead within the configured check interval (plus
// slack), and a cron entry firing every second must neither lose nor double a tick across the
// change: every second between the first and the last tick has exactly one job, and it ran.
import { sql } from "../../../src/db/index.ts";
import { CRON, chaosServer, Fleet, freshDatabase, type Member, recordDir, until } from "../harness.ts";
import { readInvocations } from "../invariants.ts";
import type { LeaderProfile } from "../profiles.ts";
import { mean, ms, Outcome, percentile, type ScenarioResult } from "../result.ts";

const BECAME = "became leader";
const STEPPED_DOWN = "lost the leader lock's connection; stepping down";

/** The live member whose last leadership line says it leads (and how many think they do). */
function leaders(fleet: Fleet): Member[] {
  return fleet.live().filter((m) => {
    const last = m.node.logs.findLast((l) => l.msg === BECAME || l.msg === STEPPED_DOWN);
    return last?.msg === BECAME;
  });
}

export async function leaderScenario(p: LeaderProfile, profile: string): Promise<ScenarioResult> {
  const out = new Outcome(3, "Kill the leader: failover and cron ticks", profile);
  const server = await chaosServer();
  const sdb = await freshDatabase(server, "leader");
  const dir = recordDir();
  const fleet = new Fleet({
    url: sdb.url,
    size: p.nodes,
    workflows: [CRON],
    label: "s3",
    recordDir: dir,
    env: { KRONOS_LEADER_CHECK: `${p.leaderCheckMs}ms` },
  });
  try {
    await fleet.start();
    let twoLeaders = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        if (leaders(fleet).length > 1) twoLeaders++;
        await Bun.sleep(100);
      }
    })();
    const failovers: number[] = [];
    let takenByNew = 0;
    await until(() => leaders(fleet).length === 1, { timeoutMs: 10_000, everyMs: 50 });
    await Bun.sleep(3_000); // a few ticks under the first leader
    for (let k = 0; k < p.kills; k++) {
      const [leader] = leaders(fleet);
      if (!leader) {
        out.fail("no leader before a kill");
        break;
      }
      const killedAt = Date.now();
      await fleet.signal(leader, "SIGKILL");
      const respawn = fleet.spawn(leader.slot);
      const took = await until(
        () =>
          fleet.history.some(
            (m) => m !== leader && m.node.logs.some((l) => l.msg === BECAME && Date.parse(String(l.time)) >= killedAt),
          ),
        { timeoutMs: 20_000, everyMs: 20 },
      );
      const next = fleet.history
        .filter((m) => m !== leader)
        .flatMap((m) =>
          m.node.logs
            .filter((l) => l.msg === BECAME && Date.parse(String(l.time)) >= killedAt)
            .map((l) => ({ m, at: Date.parse(String(l.time)) })),
        )
        .sort((a, b) => a.at - b.at)[0];
      if (!took || !next) out.fail(`no node took over within 20 s of leader kill ${k + 1}`);
      else {
        failovers.push(next.at - killedAt);
        if (next.m.startedAt >= killedAt) takenByNew++;
      }
      await respawn;
      await Bun.sleep(p.everyMs);
    }
    // The window judged: from the first tick to one a second before now, once those jobs ran.
    const end = new Date(Date.now() - 1_000);
    const ranAll = await until(
      async () => {
        const [row] = await sdb.db.query<{ n: number }>(sql`
          SELECT count(*)::int AS n FROM kronos_jobs
          WHERE type = 'chaos-tick' AND state <> 'completed' AND run_at <= ${end}`);
        return row?.n === 0;
      },
      { timeoutMs: 20_000 },
    );
    sampling = false;
    await sampler;
    await fleet.stop();

    const jobs = await sdb.db.query<{ id: number; key: string; state: string; createdAt: Date }>(sql`
      SELECT id, idempotency_key AS key, state, created_at AS "createdAt" FROM kronos_jobs
      WHERE type = 'chaos-tick' ORDER BY id`);
    const byTick = new Map<number, typeof jobs>();
    for (const j of jobs) {
      const tick = Date.parse(j.key.slice("cron:chaos-tick:".length));
      if (tick > end.getTime()) continue;
      byTick.set(tick, [...(byTick.get(tick) ?? []), j]);
    }
    const ticks = [...byTick.keys()].sort((a, b) => a - b);
    const first = ticks[0] ?? 0;
    const last = ticks.at(-1) ?? 0;
    const missing: string[] = [];
    for (let t = first; t <= last; t += 1_000) if (!byTick.has(t)) missing.push(new Date(t).toISOString());
    const doubled = [...byTick].filter(([, js]) => js.length > 1).map(([t]) => new Date(t).toISOString());
    const inv = readInvocations(dir);
    const inWindow = [...byTick.values()].flat();
    const neverRan = inWindow.filter((j) => !inv.perTick.has(String(j.id))).length;
    const ranTwice = inWindow.filter((j) => (inv.perTick.get(String(j.id)) ?? 0) > 1).length;
    const lateness = inWindow.map((j) => j.createdAt.getTime() - Date.parse(j.key.slice("cron:chaos-tick:".length)));

    out.crashes(fleet.crashes);
    out.check(missing.length === 0, `cron ticks lost: ${missing.length} (${missing.slice(0, 5).join(", ")})`);
    out.check(doubled.length === 0, `cron ticks enqueued twice: ${doubled.length} (${doubled.slice(0, 5).join(", ")})`);
    out.check(ranAll, "tick jobs left unfinished");
    out.check(neverRan === 0, `${neverRan} tick jobs have no recorded run`);
    out.check(twoLeaders === 0, `two nodes believed they led at once in ${twoLeaders} samples`);
    const limit = p.leaderCheckMs + 2_000;
    out.check(
      failovers.every((f) => f <= limit),
      `a failover took longer than the check interval + 2 s (${failovers.map(ms).join(", ")})`,
    );
    out.check(failovers.length === p.kills, `${p.kills - failovers.length} leader kills had no takeover`);

    out.figure("nodes", p.nodes);
    out.figure("leader SIGKILLs", p.kills);
    out.figure("KRONOS_LEADER_CHECK", ms(p.leaderCheckMs));
    out.figure("failover (mean / max)", `${ms(mean(failovers))} / ${ms(Math.max(...failovers))}`);
    out.figure("failovers won by a surviving node", `${failovers.length - takenByNew} of ${failovers.length}`);
    out.figure("cron ticks in the window (1 per second)", ticks.length);
    out.figure("ticks lost", missing.length);
    out.figure("ticks doubled", doubled.length);
    out.figure("tick jobs run more than once", ranTwice);
    out.figure("tick enqueue lateness p50 / max", `${ms(percentile(lateness, 50))} / ${ms(Math.max(...lateness))}`);
    out.figure("samples with two leaders", twoLeaders);
    out.figure("crashes (unplanned exits)", fleet.crashes.length);
    out.notes.push(
      "Failover: from the SIGKILL to the `became leader` log line of another node (its own timestamp). " +
        "The leader holds a session advisory lock; the kill closes its connection, PostgreSQL frees the lock, " +
        "and the next follower's election pass (every KRONOS_LEADER_CHECK) takes it.",
      "Ticks are counted by the jobs' idempotency keys (cron:<name>:<tick time>); ticks that fell due while " +
        "no node led are enqueued late by the next leader (the lateness figure), not dropped.",
    );
    return out.done();
  } finally {
    await fleet.destroy();
    await sdb.drop();
  }
}
