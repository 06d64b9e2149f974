import { downstreamOf } from "../workflow/dag.ts";
import type { LoadedDefinition } from "../workflow/registry.ts";
import { diffSize, type JsonChange, jsonDiff } from "./json-diff.ts";
import type { RecordedStep, RunRecord } from "./record.ts";

export type StepVerdict = "OK" | "DIFF" | "ERROR" | "REUSED" | "SKIPPED";

export interface StepResult {
  index: number;
  total: number;
  step: string;
  verdict: StepVerdict;
  durationMs: number;
  diffBytes: number;
  diff: JsonChange[];
  /** Why a step errored or was skipped. */
  note?: string;
  output?: unknown;
}

export interface ReplayOptions {
  /** Steps upstream of this one keep their recorded outputs; it and everything after run locally. */
  forkFrom?: string;
  /** Called (and awaited) just before each step's function runs. */
  beforeStep?: (step: string, input: unknown) => Promise<void> | void;
  /** Pause an attached debugger (a `debugger` statement) right before this step's function runs. */
  pauseAt?: string;
  onStep?: (result: StepResult) => void;
}

/**
 * Stops an attached debugger here, with the step's name and recorded input in scope; the step
 * function is called right after. (JSC ignores a `debugger` statement placed directly in an async
 * function's continuation, so it lives in this plain function.)
 */
function pauseForDebugger(step: string, input: unknown): void {
  void step;
  void input;
  // biome-ignore lint/suspicious/noDebugger: the pause that --break-at exists for
  debugger;
}

/** Checks that the local definition has the recorded steps and dependencies; returns problems. */
export function compareShapes(record: RunRecord, def: LoadedDefinition): { errors: string[]; warnings: string[] } {
  const recorded = new Map(record.steps.map((s) => [s.name, s]));
  const missing = record.steps.map((s) => s.name).filter((n) => !def.steps.has(n));
  const extra = [...def.steps.keys()].filter((n) => !recorded.has(n));
  const errors: string[] = [];
  if (missing.length) errors.push(`the local definition lacks recorded step(s): ${missing.join(", ")}`);
  if (extra.length) errors.push(`the local definition has step(s) the run did not: ${extra.join(", ")}`);
  for (const s of record.steps) {
    const local = def.dag.after.get(s.name);
    if (local && [...local].sort().join() !== [...s.after].sort().join()) {
      errors.push(`step "${s.name}" runs after [${local.join(", ")}] locally but ran after [${s.after.join(", ")}]`);
    }
  }
  const warnings =
    errors.length === 0 && def.fingerprint !== record.run.fingerprint
      ? [
          `the local code of "${def.name}" differs from the recorded version ${record.run.workflowVersion} ` +
            `(fingerprint ${def.fingerprint.slice(0, 12)} vs ${record.run.fingerprint.slice(0, 12)}): diffs may be expected`,
        ]
      : [];
  return { errors, warnings };
}

const hasOutput = (s: RecordedStep | undefined) => s !== undefined && "output" in s && s.output !== undefined;

/**
 * Re-executes a recorded run's steps in topological order with the local code and compares each
 * output with the recorded one. Nothing is written anywhere. Without `forkFrom`, every step runs
 * with its recorded input; with it, upstream steps are not executed and later steps get the
 * outputs the local code produced.
 */
export async function replay(record: RunRecord, def: LoadedDefinition, o: ReplayOptions = {}): Promise<StepResult[]> {
  const recorded = new Map(record.steps.map((s) => [s.name, s]));
  const rerun = o.forkFrom ? downstreamOf(def.dag, o.forkFrom) : undefined;
  const outputs = new Map<string, unknown>();
  const results: StepResult[] = [];
  const total = def.dag.order.length;
  for (const [i, name] of def.dag.order.entries()) {
    const rec = recorded.get(name);
    const base = { index: i + 1, total, step: name, durationMs: 0, diffBytes: 0, diff: [] as JsonChange[] };
    const finish = (r: StepResult) => {
      results.push(r);
      o.onStep?.(r);
    };
    if (rerun && !rerun.has(name)) {
      if (hasOutput(rec)) outputs.set(name, rec?.output);
      finish({
        ...base,
        verdict: hasOutput(rec) ? "REUSED" : "SKIPPED",
        note: hasOutput(rec) ? undefined : "no recorded output",
      });
      continue;
    }
    const after = def.dag.after.get(name) ?? [];
    let input: unknown;
    if (rerun) {
      if (!after.every((d) => outputs.has(d))) {
        finish({ ...base, verdict: "SKIPPED", note: "an upstream step has no output" });
        continue;
      }
      input =
        after.length === 0
          ? record.run.input
          : after.length === 1
            ? outputs.get(after[0] as string)
            : Object.fromEntries(after.map((d) => [d, outputs.get(d)]));
    } else {
      if (!rec || !("input" in rec)) {
        finish({ ...base, verdict: "SKIPPED", note: "not run in production" });
        continue;
      }
      input = rec.input;
    }
    const fn = def.steps.get(name)?.fn;
    if (!fn) throw new Error(`step "${name}" has no function`);
    await o.beforeStep?.(name, input);
    if (o.pauseAt === name) pauseForDebugger(name, input);
    const started = performance.now();
    try {
      const raw = await fn(structuredClone(input), {
        runId: record.run.id,
        step: name,
        attempt: 1,
        signal: new AbortController().signal,
      });
      // Compare what production would have stored: the JSON form.
      const output = JSON.parse(JSON.stringify(raw === undefined ? null : raw)) as unknown;
      outputs.set(name, output);
      const durationMs = performance.now() - started;
      if (!hasOutput(rec)) {
        const note =
          rec?.status === "failed"
            ? `production failed here: ${rec.error ?? "error"}`
            : "no recorded output to compare";
        finish({ ...base, verdict: rec?.status === "failed" ? "DIFF" : "OK", durationMs, note, output });
        continue;
      }
      const diff = jsonDiff(rec?.output, output);
      finish({ ...base, verdict: diff.length ? "DIFF" : "OK", durationMs, diff, diffBytes: diffSize(diff), output });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const note = rec?.status === "failed" ? `${message} (production failed too: ${rec.error ?? "error"})` : message;
      finish({ ...base, verdict: "ERROR", durationMs: performance.now() - started, note });
    }
  }
  return results;
}
