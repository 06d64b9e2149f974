// Scenario 4 of issue 8 at CI size (three SIGTERMs).
// Fails on any broken invariant of the scenario; prints its figures either way.
import { afterAll, expect, test } from "bun:test";
import { closeChaosServers } from "../../scripts/chaos/harness.ts";
import { profiles } from "../../scripts/chaos/profiles.ts";
import { sigtermScenario } from "../../scripts/chaos/scenarios/sigterm.ts";
import { describeResult } from "../support/chaos.ts";

// bun test does not fire "exit" listeners: stop the servers here, or they outlive the run.
afterAll(closeChaosServers);

test("chaos 4: SIGTERM under load: exit 0 within the grace, in-flight steps finish or are handed back, nothing lost or doubled", async () => {
  const result = await sigtermScenario(profiles.ci.sigterm, "ci");
  console.log(describeResult(result));
  expect(result.failures).toEqual([]);
}, 240_000);
