/** Run and step fields of the API's messages, as the pages show them. */
import { type Timestamp, timestampMs } from "@bufbuild/protobuf/wkt";
import { JobState, RunStatus, StepStatus } from "../../src/client/index.ts";
import type { Run } from "../../src/gen/kronos/v1/kronos_pb.ts";
import type { RunState, StepState } from "./derive.ts";

export const ms = (t: Timestamp | undefined): number | undefined => (t ? timestampMs(t) : undefined);

export const RUN_STATES: Record<number, RunState> = {
  [RunStatus.UNSPECIFIED]: "pending",
  [RunStatus.RUNNING]: "running",
  [RunStatus.COMPLETED]: "completed",
  [RunStatus.FAILED]: "failed",
  [RunStatus.CANCELLED]: "cancelled",
};

export const runState = (run: Run): RunState => RUN_STATES[run.status] ?? "pending";

/** A run status name for the filter ("failed") as the API's enum. */
export const RUN_STATUS_FILTERS: Record<string, RunStatus> = {
  running: RunStatus.RUNNING,
  completed: RunStatus.COMPLETED,
  failed: RunStatus.FAILED,
  cancelled: RunStatus.CANCELLED,
};

/** The step table's status, in the words of the timeline (for steps the log has not reached). */
export const STEP_STATES: Record<number, StepState> = {
  [StepStatus.UNSPECIFIED]: "pending",
  [StepStatus.WAITING]: "pending",
  [StepStatus.SCHEDULED]: "scheduled",
  [StepStatus.RUNNING]: "running",
  [StepStatus.COMPLETED]: "completed",
  [StepStatus.FAILED]: "failed",
  [StepStatus.CANCELLED]: "cancelled",
  [StepStatus.REUSED]: "reused",
};

export const JOB_STATES: Record<number, string> = {
  [JobState.UNSPECIFIED]: "unknown",
  [JobState.PENDING]: "pending",
  [JobState.RUNNING]: "running",
  [JobState.COMPLETED]: "completed",
  [JobState.DEAD]: "dead",
  [JobState.CANCELLED]: "cancelled",
};

export const STATE_LABELS: Record<StepState | RunState, string> = {
  pending: "pending",
  scheduled: "scheduled",
  running: "running",
  completed: "completed",
  failed: "failed",
  retried: "retrying",
  reused: "reused",
  cancelled: "cancelled",
};

/** How long a run took, or has been running for (given the time now). */
export function runDuration(run: Run, now: number): number | undefined {
  const start = ms(run.createdAt);
  if (start === undefined) return undefined;
  return run.finishedAt ? Number(run.durationMs) : now - start;
}
