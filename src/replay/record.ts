import { readFileSync } from "node:fs";
import type { Queryable } from "../db/index.ts";
import { InvalidArgumentError } from "../errors.ts";
import * as definitions from "../store/definitions.ts";
import type { EventRow } from "../store/events.ts";
import * as events from "../store/events.ts";
import { runView } from "../workflow/views.ts";

export const RECORD_FORMAT = "kronos-run/1";

/** A recorded step: what production gave it and what it returned. */
export interface RecordedStep {
  name: string;
  after: string[];
  status: string;
  attempt: number;
  /** Absent when the step never got its input (an upstream step failed). */
  input?: unknown;
  output?: unknown;
  error?: string | null;
  durationMs?: number | null;
}

/**
 * Everything needed to replay a run with no server: its definition's shape, step inputs and
 * outputs, and the event log. What `kronos export` writes and `kronos replay --file` reads.
 */
export interface RunRecord {
  format: typeof RECORD_FORMAT;
  run: {
    id: string;
    workflowName: string;
    workflowVersion: string;
    fingerprint: string;
    status: string;
    input: unknown;
    output?: unknown;
    parentRunId?: string | null;
    forkedFrom?: string | null;
    createdAt: string;
    finishedAt?: string | null;
  };
  steps: RecordedStep[];
  events: { seq: number; type: string; step: string | null; attempt: number | null; data: unknown; at: string }[];
}

const toIso = (d: Date | null | undefined) => (d ? new Date(d).toISOString() : null);

/** Reads a run straight from the database (`--database-url`). */
export async function recordFromDatabase(db: Queryable, runId: string): Promise<RunRecord> {
  const run = await runView(db, runId);
  const def = await definitions.get(db, { id: run.definitionId });
  const log: EventRow[] = await events.list(db, { runId: run.id });
  return {
    format: RECORD_FORMAT,
    run: {
      id: run.id,
      workflowName: run.workflowName,
      workflowVersion: run.workflowVersion,
      fingerprint: def?.fingerprint ?? run.fingerprint,
      status: run.status,
      input: run.input,
      output: run.output,
      parentRunId: run.parentRunId,
      forkedFrom: run.forkedFrom,
      createdAt: toIso(run.createdAt) as string,
      finishedAt: toIso(run.finishedAt),
    },
    steps: run.steps.map((s) => ({
      name: s.name,
      after: s.after,
      status: s.status,
      attempt: s.attempt,
      ...(s.input !== undefined ? { input: s.input } : {}),
      ...(s.output !== undefined ? { output: s.output } : {}),
      error: s.error,
      durationMs: s.startedAt && s.finishedAt ? s.finishedAt.getTime() - s.startedAt.getTime() : null,
    })),
    events: log.map((e) => ({
      seq: e.seq,
      type: e.type,
      step: e.step,
      attempt: e.attempt,
      data: e.data,
      at: toIso(e.at) as string,
    })),
  };
}

/** Reads and checks a file written by `kronos export`. */
export function recordFromFile(path: string): RunRecord {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new InvalidArgumentError("--file", `--file ${path}: ${(error as Error).message}`);
  }
  return checkRecord(parsed, `--file ${path}`);
}

export function checkRecord(parsed: unknown, where: string): RunRecord {
  const r = parsed as Partial<RunRecord>;
  if (r?.format !== RECORD_FORMAT) {
    throw new InvalidArgumentError(
      "format",
      `${where} is not a Kronos run export (format should be "${RECORD_FORMAT}")`,
    );
  }
  if (!r.run || typeof r.run.workflowName !== "string" || !Array.isArray(r.steps) || !Array.isArray(r.events)) {
    throw new InvalidArgumentError("run", `${where} is missing run, steps or events`);
  }
  return r as RunRecord;
}
