// A workflow step's outcome takes its run's completion lane: every step of a run is committed by
// the same lane, in order, so two lanes never wait for each other's run locks, while different
// runs spread over the lanes.

import { describe, expect, test } from "bun:test";
import { randomUUID } from "node:crypto";
import { laneIndex } from "../../src/queue/completer.ts";
import type { ClaimedJob } from "../../src/store/jobs.ts";
import { WorkflowRegistry } from "../../src/workflow/registry.ts";
import { STEP_JOB, StepJobHandler } from "../../src/workflow/step-job.ts";

const stepJob = (id: number, runId: string, step: string): ClaimedJob => ({
  id,
  type: STEP_JOB,
  payload: { runId, step },
  priority: 5,
  runAt: new Date(),
  attempt: 1,
  maxRetries: 3,
  timeoutMs: null,
  definitionId: 1,
});

describe("completion lanes of workflow steps", () => {
  const handler = new StepJobHandler(new WorkflowRegistry());

  test("every step of a run has the run's lane key", () => {
    const run = randomUUID();
    const keys = ["fetch-user", "enrich", "validate", "finish"].map((step, i) =>
      handler.laneKey(stepJob(i + 1, run, step)),
    );
    expect(new Set(keys)).toEqual(new Set([run]));
  });

  test("runs spread over two lanes", () => {
    const counts = [0, 0];
    for (let i = 0; i < 1_000; i++) {
      const lane = laneIndex(handler.laneKey(stepJob(i, randomUUID(), "fetch-user")), 2);
      counts[lane] = (counts[lane] ?? 0) + 1;
    }
    // Far from one-sided: each lane gets between 40% and 60% of 1,000 random runs.
    for (const n of counts) expect(n).toBeGreaterThan(400);
    for (const n of counts) expect(n).toBeLessThan(600);
  });
});
