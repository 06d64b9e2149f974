/** Run events as the UI works with them: plain objects with short type names and times in ms. */
import { fromJson, type JsonValue } from "@bufbuild/protobuf";
import { timestampMs, type Value } from "@bufbuild/protobuf/wkt";
import { EventSchema, EventType, type Event as KronosEvent } from "../../src/gen/kronos/v1/kronos_pb.ts";
import type { EventType as StoredEventType } from "../../src/store/events.ts";

/** The event types of the log, as the server stores them (one list, in src/store/events.ts). */
export type EventKind = StoredEventType;

export interface RunEvent {
  seq: number;
  type: EventKind;
  /** Empty for run-level events. */
  step: string;
  /** 0 for run-level events. */
  attempt: number;
  /** The fields of the event's data the UI reads (error, durationMs, reused, fromRun, retryAt, childRunId). */
  data: Record<string, unknown>;
  /** Milliseconds since the epoch. */
  at: number;
}

const KINDS: Record<number, EventKind> = {
  [EventType.RUN_STARTED]: "run_started",
  [EventType.STEP_SCHEDULED]: "step_scheduled",
  [EventType.STEP_STARTED]: "step_started",
  [EventType.STEP_COMPLETED]: "step_completed",
  [EventType.STEP_FAILED]: "step_failed",
  [EventType.STEP_RETRIED]: "step_retried",
  [EventType.RUN_COMPLETED]: "run_completed",
  [EventType.RUN_FAILED]: "run_failed",
  [EventType.RUN_CANCELLED]: "run_cancelled",
  [EventType.RUN_FORKED]: "run_forked",
};

const FIELDS = ["error", "durationMs", "reused", "fromRun", "retryAt", "childRunId"] as const;

/**
 * The scalar fields the UI uses, read straight from the Struct: converting every event's whole
 * Value to JSON costs more than the rest of decoding a thousand events.
 */
function dataOf(value: Value | undefined): Record<string, unknown> {
  const data: Record<string, unknown> = {};
  if (value?.kind.case !== "structValue") return data;
  const fields = value.kind.value.fields;
  for (const name of FIELDS) {
    const kind = fields[name]?.kind;
    if (kind?.case === "stringValue" || kind?.case === "numberValue" || kind?.case === "boolValue")
      data[name] = kind.value;
  }
  return data;
}

export function fromProtoEvent(e: KronosEvent): RunEvent {
  return {
    seq: e.seq,
    type: KINDS[e.type] ?? "run_started",
    step: e.step,
    attempt: e.attempt,
    data: dataOf(e.data),
    at: e.at ? timestampMs(e.at) : 0,
  };
}

/** An event as the API's JSON (what the debugger's event stream sends). */
export function fromJsonEvent(json: JsonValue): RunEvent {
  return fromProtoEvent(fromJson(EventSchema, json, { ignoreUnknownFields: true }));
}

/** Human words for an event type: "step_failed" -> "step failed". */
export const kindLabel = (kind: EventKind): string => kind.replace("_", " ");
