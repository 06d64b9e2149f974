// Scenario 5 of issue 8 at CI size (1,500 requests).
// Fails on any broken invariant of the scenario; prints its figures either way.
import { afterAll, expect, test } from "bun:test";
import { closeChaosServers } from "../../scripts/chaos/harness.ts";
import { profiles } from "../../scripts/chaos/profiles.ts";
import { badInputScenario } from "../../scripts/chaos/scenarios/bad-input.ts";
import { describeResult } from "../support/chaos.ts";

// bun test does not fire "exit" listeners: stop the servers here, or they outlive the run.
afterAll(closeChaosServers);

test("chaos 5: malformed and random requests over Connect, gRPC and gRPC-web: no crash, no bare 5xx, no hang, flat memory, no half-written rows", async () => {
  const result = await badInputScenario(profiles.ci.fuzz, "ci");
  console.log(describeResult(result));
  expect(result.failures).toEqual([]);
}, 240_000);
