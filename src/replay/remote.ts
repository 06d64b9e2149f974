import { timestampDate } from "@bufbuild/protobuf/wkt";
import { createKronosClient, EventType, fromValue, RunStatus, StepStatus } from "../client/index.ts";
import { RECORD_FORMAT, type RunRecord } from "./record.ts";

const lower = (name: string) => name.toLowerCase();
const enumName = <E extends Record<string, string | number>>(e: E, v: number) =>
  lower(String(e[v as keyof E] ?? "unspecified"));

/** Reads a run over the API (`--server`): GetRun for steps and values, GetRunEvents for the log. */
export async function recordFromServer(server: string, runId: string, token?: string): Promise<RunRecord> {
  const client = createKronosClient(server, { token });
  const { run, steps } = await client.getRun({ runId });
  if (!run) throw new Error(`the server returned no run for ${runId}`);
  const { events } = await client.getRunEvents({ runId, afterSeq: 0 });
  const iso = (t: Parameters<typeof timestampDate>[0] | undefined) => (t ? timestampDate(t).toISOString() : null);
  return {
    format: RECORD_FORMAT,
    run: {
      id: run.id,
      workflowName: run.workflowName,
      workflowVersion: run.workflowVersion,
      fingerprint: run.definitionFingerprint,
      status: enumName(RunStatus, run.status),
      input: fromValue(run.input) ?? null,
      ...(run.output ? { output: fromValue(run.output) } : {}),
      parentRunId: run.parentRunId || null,
      forkedFrom: run.forkedFromStep || null,
      createdAt: iso(run.createdAt) as string,
      finishedAt: iso(run.finishedAt),
    },
    steps: steps.map((s) => ({
      name: s.name,
      after: s.after,
      status: enumName(StepStatus, s.status),
      attempt: s.attempt,
      ...(s.input ? { input: fromValue(s.input) } : {}),
      ...(s.output ? { output: fromValue(s.output) } : {}),
      error: s.error || null,
      durationMs: Number(s.durationMs) || null,
    })),
    events: events.map((e) => ({
      seq: e.seq,
      type: enumName(EventType, e.type),
      step: e.step || null,
      attempt: e.attempt || null,
      data: fromValue(e.data) ?? {},
      at: iso(e.at) as string,
    })),
  };
}

/** Creates the fork on the server as a real run (`--submit`). */
export async function submitFork(server: string, runId: string, fromStep: string, token?: string): Promise<string> {
  const { run } = await createKronosClient(server, { token }).forkRun({ runId, fromStep });
  if (!run) throw new Error("the server returned no run for the fork");
  return run.id;
}
