// Scenario 2 of issue 8 at CI size, on a PostgreSQL server of its own (it is restarted).
// Fails on any broken invariant of the scenario; prints its figures either way.
import { afterAll, expect, test } from "bun:test";
import { closeChaosServers } from "../../scripts/chaos/harness.ts";
import { profiles } from "../../scripts/chaos/profiles.ts";
import { pgRestartScenario } from "../../scripts/chaos/scenarios/pg-restart.ts";
import { describeResult } from "../support/chaos.ts";

// bun test does not fire "exit" listeners: stop the servers here, or they outlive the run.
afterAll(closeChaosServers);

test("chaos 2: PostgreSQL restarted mid-load: nodes reconnect, health goes NOT_SERVING then SERVING, every run completes once", async () => {
  const result = await pgRestartScenario(profiles.ci.pgRestart, "ci");
  console.log(describeResult(result));
  expect(result.failures).toEqual([]);
}, 240_000);
