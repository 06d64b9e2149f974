// Scenario 3 of issue 8 at CI size (two leader kills).
// Fails on any broken invariant of the scenario; prints its figures either way.
import { afterAll, expect, test } from "bun:test";
import { closeChaosServers } from "../../scripts/chaos/harness.ts";
import { profiles } from "../../scripts/chaos/profiles.ts";
import { leaderScenario } from "../../scripts/chaos/scenarios/leader.ts";
import { describeResult } from "../support/chaos.ts";

// bun test does not fire "exit" listeners: stop the servers here, or they outlive the run.
afterAll(closeChaosServers);

test("chaos 3: the leader is killed: another node leads within the check interval, cron ticks neither lost nor doubled", async () => {
  const result = await leaderScenario(profiles.ci.leader, "ci");
  console.log(describeResult(result));
  expect(result.failures).toEqual([]);
}, 240_000);
