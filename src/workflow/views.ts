import type { Queryable } from "../db/index.ts";
import { NotFoundError } from "../errors.ts";
import * as blobs from "../store/blobs.ts";
import * as definitions from "../store/definitions.ts";
import type { RunRow } from "../store/runs.ts";
import * as runs from "../store/runs.ts";
import type { StepRow } from "../store/steps.ts";
import * as steps from "../store/steps.ts";
import { checkRunId } from "./engine.ts";

export interface StepView extends StepRow {
  after: string[];
  input: unknown;
  output: unknown;
}

export interface RunView extends RunRow {
  input: unknown;
  output: unknown;
  /** Steps in the definition's order. */
  steps: StepView[];
}

/**
 * A run as people look at it: its row, input and output values, and every step with its input
 * (assembled from the recorded outputs as the engine did) and output. Four queries, whatever the size.
 */
export async function runView(db: Queryable, runId: string): Promise<RunView> {
  const id = checkRunId(runId);
  const run = await runs.get(db, { id });
  if (!run) throw new NotFoundError("runId", `run ${id} does not exist`);
  const [def, rows] = await Promise.all([
    definitions.get(db, { id: run.definitionId }),
    steps.listForRun(db, { runId: id }),
  ]);
  const byName = new Map(rows.map((r) => [r.name, r]));
  const values = await blobs.get(db, [
    run.inputHash,
    ...(run.outputHash ? [run.outputHash] : []),
    ...rows.flatMap((r) => (r.outputHash ? [r.outputHash] : [])),
  ]);
  const outputOf = (name: string) => {
    const hash = byName.get(name)?.outputHash;
    return hash ? values.get(hash) : undefined;
  };
  const input = values.get(run.inputHash);
  const shape = def?.dag.steps ?? rows.map((r) => ({ name: r.name, after: [] as string[] }));
  const stepViews: StepView[] = shape.flatMap((s) => {
    const row = byName.get(s.name);
    if (!row) return [];
    const ready = s.after.every((d) => outputOf(d) !== undefined);
    const stepInput =
      s.after.length === 0
        ? input
        : !ready
          ? undefined
          : s.after.length === 1
            ? outputOf(s.after[0] as string)
            : Object.fromEntries(s.after.map((d) => [d, outputOf(d)]));
    return [{ ...row, after: s.after, input: stepInput, output: outputOf(s.name) }];
  });
  return { ...run, input, output: run.outputHash ? values.get(run.outputHash) : undefined, steps: stepViews };
}
