/**
 * A run as it was at one point of its history, derived only from its event log: replaying the
 * events up to a sequence number gives every step's state, attempt and timing at that moment.
 * (The step table holds only the latest state; the timeline needs every earlier one.)
 */
import type { RunEvent } from "./events.ts";

export type StepState =
  | "pending"
  | "scheduled"
  | "running"
  | "completed"
  | "failed"
  | "retried"
  | "reused"
  | "cancelled";

export type RunState = "pending" | "running" | "completed" | "failed" | "cancelled";

export interface Attempt {
  attempt: number;
  outcome: "running" | "completed" | "failed" | "cancelled";
  startedAt?: number;
  finishedAt?: number;
  durationMs?: number;
  error?: string;
  startSeq?: number;
  endSeq?: number;
}

export interface StepAt {
  name: string;
  state: StepState;
  /** Latest attempt started or announced (a retry names the next one); 0 before the first. */
  attempt: number;
  attempts: Attempt[];
  scheduledAt?: number;
  startedAt?: number;
  finishedAt?: number;
  /** When a failed attempt will be retried. */
  retryAt?: string;
  /** Error of the latest failed attempt. */
  error?: string;
  /** For a reused step: the run whose output it took. */
  reusedFrom?: string;
  /** Seq of the latest event about this step; 0 if none yet. */
  lastSeq: number;
}

export interface RunAt {
  /** The position: events with seq up to this one have been applied. */
  seq: number;
  /** Time of the event at the position. */
  at?: number;
  state: RunState;
  steps: Map<string, StepAt>;
  error?: string;
  failedStep?: string;
  /** Forks made from this run so far. */
  forks: { seq: number; step: string; childRunId: string }[];
}

const UNFINISHED: ReadonlySet<StepState> = new Set(["pending", "scheduled", "running", "retried"]);

const text = (v: unknown): string | undefined => (typeof v === "string" ? v : v === undefined ? undefined : String(v));
const num = (v: unknown): number | undefined => (typeof v === "number" ? v : undefined);

function attemptOf(step: StepAt, n: number): Attempt {
  let a = step.attempts.find((x) => x.attempt === n);
  if (!a) {
    a = { attempt: n, outcome: "running" };
    step.attempts.push(a);
    step.attempts.sort((x, y) => x.attempt - y.attempt);
  }
  return a;
}

function stopUnfinished(run: RunAt, at: number, seq: number): void {
  for (const s of run.steps.values()) {
    if (!UNFINISHED.has(s.state)) continue;
    s.state = "cancelled";
    for (const a of s.attempts) {
      if (a.outcome !== "running") continue;
      a.outcome = "cancelled";
      a.finishedAt = at;
      a.endSeq = seq;
    }
  }
}

/** Applies one event to the run (in place). */
function apply(run: RunAt, e: RunEvent): void {
  run.seq = e.seq;
  run.at = e.at;
  let step: StepAt | undefined;
  if (e.step && e.type.startsWith("step_")) {
    step = run.steps.get(e.step);
    if (!step) {
      step = { name: e.step, state: "pending", attempt: 0, attempts: [], lastSeq: 0 };
      run.steps.set(e.step, step);
    }
    step.lastSeq = e.seq;
  }
  switch (e.type) {
    case "run_started":
      run.state = "running";
      return;
    case "run_completed":
      run.state = "completed";
      return;
    case "run_failed":
      run.state = "failed";
      run.error = text(e.data.error);
      run.failedStep = e.step || undefined;
      stopUnfinished(run, e.at, e.seq);
      return;
    case "run_cancelled":
      run.state = "cancelled";
      stopUnfinished(run, e.at, e.seq);
      return;
    case "run_forked":
      run.forks.push({ seq: e.seq, step: e.step, childRunId: text(e.data.childRunId) ?? "" });
      return;
  }
  if (!step) return;
  switch (e.type) {
    case "step_scheduled":
      step.state = "scheduled";
      step.scheduledAt = e.at;
      return;
    case "step_started": {
      step.state = "running";
      step.attempt = e.attempt;
      step.startedAt = e.at;
      step.finishedAt = undefined;
      step.retryAt = undefined;
      const a = attemptOf(step, e.attempt);
      Object.assign(a, { outcome: "running", startedAt: e.at, startSeq: e.seq });
      return;
    }
    case "step_completed":
      step.finishedAt = e.at;
      if (e.data.reused === true) {
        step.state = "reused";
        step.reusedFrom = text(e.data.fromRun);
        return;
      }
      step.state = "completed";
      if (e.attempt > 0) {
        step.attempt = e.attempt;
        Object.assign(attemptOf(step, e.attempt), {
          outcome: "completed",
          finishedAt: e.at,
          durationMs: num(e.data.durationMs),
          endSeq: e.seq,
        });
      }
      return;
    case "step_failed":
      step.state = "failed";
      step.finishedAt = e.at;
      step.error = text(e.data.error);
      if (e.attempt > 0) {
        step.attempt = e.attempt;
        Object.assign(attemptOf(step, e.attempt), {
          outcome: "failed",
          finishedAt: e.at,
          durationMs: num(e.data.durationMs),
          error: step.error,
          endSeq: e.seq,
        });
      }
      return;
    case "step_retried":
      step.state = "retried";
      step.retryAt = text(e.data.retryAt);
      return;
  }
}

/**
 * The run after every event with seq <= `seq` (events in seq order). Steps the log does not
 * mention yet are pending; `stepNames` gives their order.
 */
export function runAt(stepNames: readonly string[], events: readonly RunEvent[], seq: number): RunAt {
  const run: RunAt = { seq: 0, state: "pending", steps: new Map(), forks: [] };
  for (const name of stepNames) run.steps.set(name, { name, state: "pending", attempt: 0, attempts: [], lastSeq: 0 });
  for (const e of events) {
    if (e.seq > seq) break;
    apply(run, e);
  }
  return run;
}

/** Index of the event with the greatest seq <= `seq` (binary search; -1 if none). */
export function indexAtOrBefore(events: readonly RunEvent[], seq: number): number {
  let lo = 0;
  let hi = events.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if ((events[mid] as RunEvent).seq <= seq) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}
