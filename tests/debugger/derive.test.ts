// The timeline's step states come from replaying the event log, checked against a recorded
// history (tests/fixtures/runs): validate fails four times, so the run fails and finish never runs.
import { describe, expect, test } from "bun:test";
import { indexAtOrBefore, runAt } from "../../ui/lib/derive.ts";
import type { EventKind, RunEvent } from "../../ui/lib/events.ts";
import recorded from "../fixtures/runs/data-pipeline-failed-validate.json";

const events: RunEvent[] = recorded.events.map((e) => ({
  seq: e.seq,
  type: e.type as EventKind,
  step: e.step ?? "",
  attempt: e.attempt ?? 0,
  data: e.data as Record<string, unknown>,
  at: Date.parse(e.at),
}));
const names = recorded.steps.map((s) => s.name);
const states = (seq: number) => Object.fromEntries([...runAt(names, events, seq).steps].map(([n, s]) => [n, s.state]));

describe("runAt", () => {
  test("before the first event nothing has happened", () => {
    const run = runAt(names, events, 0);
    expect(run.state).toBe("pending");
    expect(new Set(Object.values(states(0)))).toEqual(new Set(["pending"]));
  });

  test("each position shows what had finished, what was queued and what was running", () => {
    expect(states(10)).toEqual({
      "fetch-user": "completed",
      enrich: "completed",
      validate: "scheduled",
      "notify-1": "scheduled",
      "notify-2": "scheduled",
      finish: "pending",
    });
    expect(states(13)).toMatchObject({ validate: "running", "notify-1": "running", "notify-2": "running" });
    expect(states(16)).toMatchObject({ validate: "failed", "notify-1": "completed", finish: "pending" });
    expect(states(17)).toMatchObject({ validate: "retried" });
  });

  test("attempts carry their errors and the current attempt number", () => {
    const validate = runAt(names, events, 18).steps.get("validate");
    expect(validate?.state).toBe("running");
    expect(validate?.attempt).toBe(2);
    expect(validate?.attempts.map((a) => [a.attempt, a.outcome, a.error])).toEqual([
      [1, "failed", 'validate failed on purpose (failAt="validate")'],
      [2, "running", undefined],
    ]);
  });

  test("at the end the run has failed at validate and finish was never started", () => {
    const run = runAt(names, events, 26);
    expect({ state: run.state, failedStep: run.failedStep, error: run.error }).toEqual({
      state: "failed",
      failedStep: "validate",
      error: 'validate failed on purpose (failAt="validate")',
    });
    expect(states(26)).toMatchObject({ validate: "failed", finish: "cancelled" });
    expect(run.steps.get("validate")?.attempts).toHaveLength(4);
  });

  test("a fork's reused steps and a parent's forks", () => {
    const at = 1_000;
    const fork: RunEvent[] = [
      { seq: 1, type: "run_started", step: "", attempt: 0, data: { parentRunId: "p" }, at },
      { seq: 2, type: "step_completed", step: "fetch-user", attempt: 0, data: { reused: true, fromRun: "p" }, at },
      { seq: 3, type: "step_scheduled", step: "enrich", attempt: 0, data: {}, at },
    ];
    const run = runAt(names, fork, 3);
    expect(run.steps.get("fetch-user")).toMatchObject({ state: "reused", reusedFrom: "p", attempts: [] });
    expect(run.steps.get("enrich")?.state).toBe("scheduled");
    const parent = runAt(
      names,
      [...events, { ...fork[0], seq: 27, type: "run_forked", step: "validate", data: { childRunId: "c" } } as RunEvent],
      27,
    );
    expect(parent.forks).toEqual([{ seq: 27, step: "validate", childRunId: "c" }]);
  });

  test("indexAtOrBefore finds the event at or before a seq", () => {
    expect(indexAtOrBefore(events, 0)).toBe(-1);
    expect(indexAtOrBefore(events, 1)).toBe(0);
    expect(indexAtOrBefore(events, 12)).toBe(11);
    expect(indexAtOrBefore(events, 999)).toBe(events.length - 1);
  });
});
