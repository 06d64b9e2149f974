// Scenario 1 of issue 8 at CI size (200 runs, a few kills); `npm run chaos` runs the full size.
// Fails on any broken invariant of the scenario; prints its figures either way.
import { afterAll, expect, test } from "bun:test";
import { closeChaosServers } from "../../scripts/chaos/harness.ts";
import { profiles } from "../../scripts/chaos/profiles.ts";
import { killScenario } from "../../scripts/chaos/scenarios/kill.ts";
import { describeResult } from "../support/chaos.ts";

// bun test does not fire "exit" listeners: stop the servers here, or they outlive the run.
afterAll(closeChaosServers);

test("chaos 1: SIGKILL a random node every few seconds while runs are in flight: every run completes, no step completion recorded twice, no crash", async () => {
  const result = await killScenario(profiles.ci.kill, "ci");
  console.log(describeResult(result));
  expect(result.failures).toEqual([]);
}, 240_000);
