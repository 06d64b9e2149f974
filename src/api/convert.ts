/**
 * Rows and views of the stores to proto messages, and the JSON values of requests back. Pure
 * functions: nothing here reads the database.
 */
import { create, fromJson, type JsonValue, toJson } from "@bufbuild/protobuf";
import { type Timestamp, timestampFromDate, type Value, ValueSchema } from "@bufbuild/protobuf/wkt";
import { InvalidArgumentError } from "../errors.ts";
import {
  type Event,
  EventSchema,
  EventType,
  type Job,
  JobSchema,
  JobState,
  type Node,
  NodeSchema,
  type Run,
  RunSchema,
  RunStatus,
  type Step,
  StepSchema,
  StepStatus,
  type Workflow,
  WorkflowSchema,
} from "../gen/kronos/v1/kronos_pb.ts";
import type { EventRow } from "../store/events.ts";
import type { Job as JobRow } from "../store/jobs.ts";
import type { NodeRow } from "../store/nodes.ts";
import type { RunRow } from "../store/runs.ts";
import type { LoadedDefinition } from "../workflow/registry.ts";
import type { StepView } from "../workflow/views.ts";

export const JOB_STATES = {
  pending: JobState.PENDING,
  running: JobState.RUNNING,
  completed: JobState.COMPLETED,
  dead: JobState.DEAD,
  cancelled: JobState.CANCELLED,
} as const satisfies Record<JobRow["state"], JobState>;

export const RUN_STATUSES = {
  running: RunStatus.RUNNING,
  completed: RunStatus.COMPLETED,
  failed: RunStatus.FAILED,
  cancelled: RunStatus.CANCELLED,
} as const satisfies Record<RunRow["status"], RunStatus>;

const STEP_STATUSES = {
  waiting: StepStatus.WAITING,
  scheduled: StepStatus.SCHEDULED,
  running: StepStatus.RUNNING,
  completed: StepStatus.COMPLETED,
  failed: StepStatus.FAILED,
  cancelled: StepStatus.CANCELLED,
  reused: StepStatus.REUSED,
} as const satisfies Record<StepView["status"], StepStatus>;

const EVENT_TYPES = {
  run_started: EventType.RUN_STARTED,
  step_scheduled: EventType.STEP_SCHEDULED,
  step_started: EventType.STEP_STARTED,
  step_completed: EventType.STEP_COMPLETED,
  step_failed: EventType.STEP_FAILED,
  step_retried: EventType.STEP_RETRIED,
  run_completed: EventType.RUN_COMPLETED,
  run_failed: EventType.RUN_FAILED,
  run_cancelled: EventType.RUN_CANCELLED,
  run_forked: EventType.RUN_FORKED,
} as const satisfies Record<EventRow["type"], EventType>;

/** The store's name for a proto enum value (the inverse of a table above); undefined for UNSPECIFIED. */
export function fromEnum<K extends string>(table: Record<K, number>, value: number): K | undefined {
  return (Object.keys(table) as K[]).find((key) => table[key] === value);
}

/** A stored JSON value as a google.protobuf.Value; undefined stays unset. */
export function toValue(json: unknown): Value | undefined {
  return json === undefined ? undefined : fromJson(ValueSchema, json as JsonValue);
}

/**
 * Whether `json` holds a string (value or key) that PostgreSQL's jsonb cannot store: one with an
 * unpaired UTF-16 surrogate or a NUL character. Iterative, as a Value may be deeply nested.
 */
function hasUnstorableText(json: unknown): boolean {
  const bad = (s: string) => !s.isWellFormed() || s.includes("\0");
  const stack = [json];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === "string") {
      if (bad(v)) return true;
    } else if (Array.isArray(v)) {
      for (const inner of v) stack.push(inner);
    } else if (v !== null && typeof v === "object") {
      for (const [k, inner] of Object.entries(v)) {
        if (bad(k)) return true;
        stack.push(inner);
      }
    }
  }
  return false;
}

/**
 * A request's google.protobuf.Value as plain JSON; undefined when unset. A binary client can
 * send a Value that JSON cannot hold (no kind set, NaN, Infinity), and a JSON client text that
 * PostgreSQL cannot store (an unpaired surrogate like "\ud800", "\u0000"): both refused naming `field`.
 */
export function jsonOf(value: Value | undefined, field: string): unknown {
  if (value === undefined) return undefined;
  let json: unknown;
  try {
    json = toJson(ValueSchema, value);
  } catch (error) {
    throw new InvalidArgumentError(field, `${field} is not valid JSON: ${(error as Error).message}`);
  }
  if (hasUnstorableText(json)) {
    throw new InvalidArgumentError(
      field,
      `${field} holds text that cannot be stored: an unpaired UTF-16 surrogate (\\ud800–\\udfff) or a NUL character (\\u0000)`,
    );
  }
  return json;
}

const time = (date: Date | null | undefined): Timestamp | undefined => (date ? timestampFromDate(date) : undefined);
const millisBetween = (from: Date | null, to: Date | null): bigint =>
  from && to ? BigInt(Math.max(0, to.getTime() - from.getTime())) : 0n;

export function jobMessage(row: JobRow): Job {
  return create(JobSchema, {
    id: BigInt(row.id),
    type: row.type,
    payload: toValue(row.payload),
    priority: row.priority,
    state: JOB_STATES[row.state],
    attempt: row.attempt,
    maxRetries: row.maxRetries,
    runAt: time(row.runAt),
    createdAt: time(row.createdAt),
    startedAt: time(row.startedAt),
    finishedAt: time(row.finishedAt),
    lastError: row.lastError ?? "",
    idempotencyKey: row.idempotencyKey ?? "",
    result: row.state === "completed" ? toValue(row.result) : undefined,
    timeoutMs: row.timeoutMs ?? 0,
  });
}

/** A run; `values` carries its input and output when the caller has read them. */
export function runMessage(row: RunRow, values: { input?: unknown; output?: unknown } = {}): Run {
  return create(RunSchema, {
    id: row.id,
    workflowName: row.workflowName,
    workflowVersion: row.workflowVersion,
    definitionFingerprint: row.fingerprint,
    status: RUN_STATUSES[row.status],
    input: toValue(values.input),
    output: toValue(values.output),
    error: row.error?.message ?? "",
    failedStep: row.failedStep ?? "",
    parentRunId: row.parentRunId ?? "",
    forkedFromStep: row.forkedFrom ?? "",
    createdAt: time(row.createdAt),
    finishedAt: time(row.finishedAt),
    durationMs: millisBetween(row.createdAt, row.finishedAt),
    idempotencyKey: row.idempotencyKey ?? "",
  });
}

export function stepMessage(view: StepView): Step {
  return create(StepSchema, {
    name: view.name,
    status: STEP_STATUSES[view.status],
    attempt: view.attempt,
    after: view.after,
    input: toValue(view.input),
    output: toValue(view.output),
    error: view.error ?? "",
    startedAt: time(view.startedAt),
    finishedAt: time(view.finishedAt),
    durationMs: millisBetween(view.startedAt, view.finishedAt),
  });
}

export function eventMessage(row: EventRow): Event {
  return create(EventSchema, {
    runId: row.runId,
    seq: row.seq,
    type: EVENT_TYPES[row.type],
    step: row.step ?? "",
    attempt: row.attempt ?? 0,
    data: toValue(row.data),
    at: time(row.at),
  });
}

export function workflowMessage(def: LoadedDefinition, latest: boolean): Workflow {
  return create(WorkflowSchema, {
    name: def.name,
    version: def.version,
    fingerprint: def.fingerprint,
    latest,
    steps: def.dag.order.map((name) => {
      const step = def.steps.get(name);
      return { name, after: [...(step?.after ?? [])], retries: step?.retries ?? 0, timeoutMs: step?.timeoutMs ?? 0 };
    }),
  });
}

export function nodeMessage(row: NodeRow): Node {
  return create(NodeSchema, {
    id: row.id,
    hostname: row.hostname,
    pid: row.pid,
    isLeader: row.isLeader,
    startedAt: time(row.startedAt),
    heartbeatAt: time(row.heartbeatAt),
  });
}
