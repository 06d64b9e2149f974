import type { Queryable } from "../db/index.ts";
import type { CompletedJob, FailedJob, Handoff, JobContext, JobHandler } from "../queue/types.ts";
import * as blobs from "../store/blobs.ts";
import type { NewEvent } from "../store/events.ts";
import * as events from "../store/events.ts";
import type { ClaimedJob, NewJob } from "../store/jobs.ts";
import * as jobs from "../store/jobs.ts";
import type { RunStatus } from "../store/runs.ts";
import * as runs from "../store/runs.ts";
import type { StepKey } from "../store/steps.ts";
import * as steps from "../store/steps.ts";
import type { LoadedDefinition, WorkflowRegistry } from "./registry.ts";

/** The job type every workflow step runs as. */
export const STEP_JOB = "kronos.workflow_step";

export interface StepPayload {
  runId: string;
  step: string;
}

/** The job that runs `step` of a run on the queue, claimable only by nodes that loaded `def`. */
export function stepJob(def: LoadedDefinition, runId: string, step: string): NewJob {
  const s = def.steps.get(step);
  return {
    type: STEP_JOB,
    payload: { runId, step } satisfies StepPayload,
    definitionId: def.id,
    maxRetries: s?.retries ?? 3,
    timeoutMs: s?.timeoutMs,
  };
}

const keyOf = (k: StepKey) => `${k.runId}\0${k.name}`;
const payloadOf = (job: ClaimedJob) => job.payload as StepPayload;

/**
 * Schedules steps that became ready in one statement: a job each, the step rows pointed at them,
 * and a step_scheduled event each (appended by the caller with its other events). The first
 * `claim.count` are created claimed by `claim.worker` (their step_started logged too).
 */
export async function scheduleSteps(
  tx: Queryable,
  ready: readonly { def: LoadedDefinition; runId: string; step: string }[],
  out: NewEvent[],
  claim?: { worker: string; leaseMs: number; count: number },
): Promise<number[]> {
  if (ready.length === 0) return [];
  const ids = await steps.schedule(
    tx,
    ready.map((r) => {
      const job = stepJob(r.def, r.runId, r.step);
      return {
        runId: r.runId,
        name: r.step,
        jobType: job.type,
        payload: job.payload,
        definitionId: r.def.id,
        maxRetries: job.maxRetries ?? 3,
        timeoutMs: job.timeoutMs ?? null,
      };
    }),
    claim,
  );
  ready.forEach((r, i) => {
    out.push({ runId: r.runId, type: "step_scheduled", step: r.step, data: { jobId: ids[i] } });
    if (claim && i < claim.count) {
      out.push({ runId: r.runId, type: "step_started", step: r.step, attempt: 1, data: { jobId: ids[i] } });
    }
  });
  return ids;
}

/** The input of a step from its dependencies' outputs (DESIGN: root, one dependency, several). */
export function assembleInput(
  def: LoadedDefinition,
  step: string,
  runInput: unknown,
  outputOf: (dep: string) => unknown,
): unknown {
  const after = def.dag.after.get(step) ?? [];
  if (after.length === 0) return runInput;
  if (after.length === 1) return outputOf(after[0] as string);
  return Object.fromEntries(after.map((d) => [d, outputOf(d)]));
}

/** A run that reached its end, for metrics and listeners. */
export interface RunEnded {
  runId: string;
  workflow: string;
  outcome: "completed" | "failed" | "cancelled";
}

interface PreparedInput {
  input: unknown;
}

/**
 * The queue handler of workflow steps. Its hooks run inside the queue's own transactions:
 * claim -> step_started; completion -> output blob, step_completed, next steps scheduled,
 * run_completed; failure -> step_failed, step_retried or run_failed. All in batches.
 */
export class StepJobHandler implements JobHandler<StepPayload, PreparedOutcomes> {
  readonly storeResult = false;
  /** A completed step's record is its run's log and step row: its job row goes (jobs.complete). */
  readonly keepCompleted = false;
  /** Inputs loaded in the claim transaction, waiting for their job to start. */
  readonly #inputs = new Map<number, PreparedInput>();
  /** Runs a job's outcome ended, by job id, until that outcome's transaction has committed. */
  readonly #ended = new Map<number, RunEnded>();

  /**
   * The runs that these jobs' committed outcomes completed or failed (then forgotten). Called after
   * the commit, so a rolled-back and retried write is never counted twice.
   */
  takeEndedRuns(jobIds: Iterable<number>): RunEnded[] {
    const found: RunEnded[] = [];
    for (const id of jobIds) {
      const e = this.#ended.get(id);
      if (e) {
        found.push(e);
        this.#ended.delete(id);
      }
    }
    return found;
  }

  constructor(private readonly registry: WorkflowRegistry) {}

  /**
   * A run's outcomes share a completion lane: its steps' writes are committed in order, and two
   * lanes never wait for each other's run locks.
   */
  laneKey(job: ClaimedJob): string {
    return payloadOf(job).runId;
  }

  #def(job: ClaimedJob): LoadedDefinition {
    const def = job.definitionId === null ? undefined : this.registry.byId(job.definitionId);
    if (!def) throw new Error(`workflow definition ${job.definitionId} is not loaded on this node`);
    return def;
  }

  async onClaimed(tx: Queryable, claimable: readonly ClaimedJob[]): Promise<number[]> {
    // Runs first, in id order: every writer of a run's steps and events holds its run's lock.
    const status = await runs.lock(tx, { ids: claimable.map((j) => payloadOf(j).runId) });
    // A step of a run that stopped (cancelled, failed) while its job waited is not started.
    const stopped = claimable.filter((j) => status.get(payloadOf(j).runId) !== "running").map((j) => j.id);
    if (stopped.length > 0) await jobs.cancelMany(tx, { ids: stopped });
    const claimed = claimable.filter((j) => status.get(payloadOf(j).runId) === "running");
    // Load every claimed step's input: dependency outputs and run inputs, pipelined.
    const depKeys: StepKey[] = [];
    const rootRuns: string[] = [];
    for (const j of claimed) {
      const { runId, step } = payloadOf(j);
      const after = this.#def(j).dag.after.get(step) ?? [];
      if (after.length === 0) rootRuns.push(runId);
      for (const dep of after) depKeys.push({ runId, name: dep });
    }
    const started: NewEvent[] = claimed.map((j) => ({
      runId: payloadOf(j).runId,
      type: "step_started",
      step: payloadOf(j).step,
      attempt: j.attempt,
      data: { jobId: j.id },
    }));
    const [, outs, runInputs] = await Promise.all([
      steps.markRunning(
        tx,
        claimed.map((j) => ({ runId: payloadOf(j).runId, name: payloadOf(j).step, attempt: j.attempt })),
      ),
      steps.outputValues(tx, depKeys),
      runs.inputs(tx, { ids: rootRuns }),
      events.append(tx, started),
    ]);
    const outputOf = new Map(outs.map((o) => [keyOf(o), o.output]));
    for (const j of claimed) {
      const { runId, step } = payloadOf(j);
      const input = assembleInput(this.#def(j), step, runInputs.get(runId), (dep) =>
        outputOf.get(keyOf({ runId, name: dep })),
      );
      this.#inputs.set(j.id, { input });
    }
    return stopped;
  }

  async run(payload: StepPayload, ctx: JobContext): Promise<unknown> {
    const prepared = this.#inputs.get(ctx.job.id);
    this.#inputs.delete(ctx.job.id);
    if (!prepared) throw new Error(`input of step "${payload.step}" was not loaded at claim`);
    const def = this.#def(ctx.job);
    const step = def.steps.get(payload.step);
    if (!step) throw new Error(`workflow "${def.name}" has no step "${payload.step}"`);
    const output = await step.fn(prepared.input, {
      runId: payload.runId,
      step: payload.step,
      attempt: ctx.job.attempt,
      get signal() {
        return ctx.signal;
      },
    });
    // What is stored is JSON: make the recorded value exactly what later readers will see.
    return output === undefined ? null : output;
  }

  /**
   * Sent with the queue's outcome writes: the lock of every run in the batch (one statement, in id
   * order, before any of their steps or events is written) and the completed steps' output blobs.
   * Both are harmless for a refused outcome (a blob nothing refers to is removed by retention).
   */
  async prepareOutcomes(
    tx: Queryable,
    completed: readonly CompletedJob[],
    failed: readonly FailedJob[],
  ): Promise<PreparedOutcomes> {
    const outputs = new Map(completed.map((d) => [d.job.id, blobs.toBlob(d.result)]));
    const [status] = await Promise.all([
      runs.lock(tx, { ids: [...completed, ...failed].map((o) => payloadOf(o.job).runId) }),
      blobs.put(tx, [...outputs.values()]),
    ]);
    return { status, outputs };
  }

  async onCompleted(
    tx: Queryable,
    done: readonly CompletedJob[],
    handoff: Handoff,
    prepared: PreparedOutcomes,
  ): Promise<void> {
    const { status } = prepared;
    const outputs = done.map((d) => prepared.outputs.get(d.job.id) as blobs.Blob);
    const keys = done.map((d) => keyOf({ runId: payloadOf(d.job).runId, name: payloadOf(d.job).step }));
    // Statements issued together are pipelined on the transaction's connection and run in the
    // order given: what follows is read after the completions are written.
    const written = steps.markCompleted(
      tx,
      done.map((d, i) => ({
        runId: payloadOf(d.job).runId,
        name: payloadOf(d.job).step,
        outputHash: (outputs[i] as blobs.Blob).hash,
      })),
    );
    // Only running runs move on; a failed run's stragglers are recorded and go no further.
    const live = done.filter((d) => status.get(payloadOf(d.job).runId) === "running");
    const [, { ready, finished }] = await Promise.all([
      written,
      whatFollows(
        tx,
        live.map((d) => ({ def: this.#def(d.job), ...payloadOf(d.job) })),
      ),
    ]);
    const out: NewEvent[] = done.map((d, i) => ({
      runId: payloadOf(d.job).runId,
      type: "step_completed",
      step: payloadOf(d.job).step,
      attempt: d.job.attempt,
      data: { outputHash: (outputs[i] as blobs.Blob).hash, durationMs: d.finishedAt - d.startedAt },
    }));
    if (finished.length > 0) {
      const jobOfRun = new Map(live.map((d) => [payloadOf(d.job).runId, d.job.id]));
      for (const r of finished) {
        this.#ended.set(jobOfRun.get(r.runId) as number, {
          runId: r.runId,
          workflow: r.def.name,
          outcome: "completed",
        });
      }
    }
    // Hand the next steps to this worker when it has room: they start right after the commit.
    // Scheduling and the finished runs' outputs are independent: their statements go together.
    const mine = handoff.reserve(ready.length);
    // What later readers get is the stored JSON, not the live object: hand that on too.
    const known = () => new Map(keys.map((k, i) => [k, JSON.parse((outputs[i] as blobs.Blob).json) as unknown]));
    const [, results] = await Promise.all([
      mine === 0 ? scheduleSteps(tx, ready, out) : this.#handOff(tx, ready, mine, known(), handoff, out),
      runResults(tx, finished, new Map(keys.map((k, i) => [k, (outputs[i] as blobs.Blob).hash]))),
    ]);
    for (const r of results) out.push({ runId: r.id, type: "run_completed", data: { outputHash: r.outputHash } });
    // The finished runs' rows, their combined outputs and every event: one round trip.
    await Promise.all([
      blobs.put(
        tx,
        results.flatMap((r) => (r.blob ? [r.blob] : [])),
      ),
      runs.complete(tx, { runs: results }),
      events.append(tx, out),
    ]);
  }

  /**
   * Schedules ready steps, the first `count` created already claimed by this worker, and prepares
   * those steps' inputs: outputs from this batch are in memory; any other dependency's output is
   * read in one query.
   */
  async #handOff(
    tx: Queryable,
    all: readonly { def: LoadedDefinition; runId: string; step: string }[],
    count: number,
    known: Map<string, unknown>,
    handoff: Handoff,
    out: NewEvent[],
  ): Promise<void> {
    const ready = all.slice(0, count);
    const missing = ready.flatMap((r) =>
      (r.def.dag.after.get(r.step) ?? []).map((name) => ({ runId: r.runId, name })).filter((k) => !known.has(keyOf(k))),
    );
    const [ids, outs] = await Promise.all([
      scheduleSteps(tx, all, out, { worker: handoff.worker, leaseMs: handoff.leaseMs, count }),
      steps.outputValues(tx, missing),
    ]);
    for (const o of outs) known.set(keyOf(o), o.output);
    ready.forEach((r, i) => {
      const id = ids[i] as number;
      const job = stepJob(r.def, r.runId, r.step);
      this.#inputs.set(id, {
        input: assembleInput(r.def, r.step, undefined, (dep) => known.get(keyOf({ runId: r.runId, name: dep }))),
      });
      handoff.claimed.push({
        id,
        type: STEP_JOB,
        payload: job.payload,
        priority: job.priority ?? 5,
        runAt: new Date(),
        attempt: 1,
        maxRetries: job.maxRetries ?? 3,
        timeoutMs: job.timeoutMs ?? null,
        definitionId: r.def.id,
      });
    });
  }

  async onFailed(tx: Queryable, failed: readonly FailedJob[]): Promise<void> {
    for (const f of failed) this.#inputs.delete(f.job.id);
    const status = await runs.lock(tx, { ids: failed.map((f) => payloadOf(f.job).runId) });
    await steps.markFailed(
      tx,
      failed.map((f) => ({
        runId: payloadOf(f.job).runId,
        name: payloadOf(f.job).step,
        error: f.error,
        final: f.retryAt === null,
      })),
    );
    const out: NewEvent[] = [];
    for (const f of failed) {
      const { runId, step } = payloadOf(f.job);
      out.push({
        runId,
        type: "step_failed",
        step,
        attempt: f.job.attempt,
        data: { error: f.error, durationMs: f.finishedAt - f.startedAt },
      });
      if (f.retryAt) {
        out.push({
          runId,
          type: "step_retried",
          step,
          attempt: f.job.attempt + 1,
          data: { retryAt: f.retryAt.toISOString() },
        });
      } else if (status.get(runId) === "running") {
        await runs.fail(tx, { id: runId, step, attempt: f.job.attempt, message: f.error });
        status.set(runId, "failed");
        const workflow = f.job.definitionId === null ? undefined : this.registry.byId(f.job.definitionId)?.name;
        this.#ended.set(f.job.id, { runId, workflow: workflow ?? "unknown", outcome: "failed" });
        await jobs.cancelMany(tx, { ids: await steps.cancelUnfinished(tx, { runId }) });
        out.push({ runId, type: "run_failed", step, attempt: f.job.attempt, data: { error: f.error } });
      }
    }
    await events.append(tx, out);
  }
}

/** What prepareOutcomes hands to onCompleted. */
interface PreparedOutcomes {
  /** The status of every run in the batch, locked for the rest of the transaction. */
  status: Map<string, RunStatus>;
  /** The completed steps' outputs, by job id. */
  outputs: Map<number, blobs.Blob>;
}

type StepOfRun = { def: LoadedDefinition; runId: string; step: string };

/**
 * What the completion of `completed` steps unblocks. The caller holds their runs' locks and has
 * marked the steps completed in this transaction, so the step rows read here are the latest:
 * a step with one dependency is ready now; a step with several is ready when every dependency's
 * row says completed or reused (the completion that comes last sees that, and only it); a run is
 * finished when all its sinks are (every step is upstream of a sink).
 */
async function whatFollows(
  tx: Queryable,
  completed: readonly StepOfRun[],
): Promise<{ ready: StepOfRun[]; finished: { runId: string; def: LoadedDefinition }[] }> {
  const ready = new Map<string, StepOfRun>();
  const fanIn = new Map<string, StepOfRun>();
  const sinkDone = new Map<string, { runId: string; def: LoadedDefinition }>();
  for (const c of completed) {
    const children = c.def.dag.before.get(c.step) ?? [];
    if (children.length === 0) sinkDone.set(c.runId, { runId: c.runId, def: c.def });
    for (const child of children) {
      const several = (c.def.dag.after.get(child)?.length ?? 0) > 1;
      (several ? fanIn : ready).set(keyOf({ runId: c.runId, name: child }), {
        def: c.def,
        runId: c.runId,
        step: child,
      });
    }
  }
  // What completed in this batch needs no read; one read for the rest: fan-in steps with their
  // dependencies, and the sinks of runs that have several.
  const here = new Set(completed.map((c) => keyOf({ runId: c.runId, name: c.step })));
  const allHere = (runId: string, names: readonly string[]) => names.every((name) => here.has(keyOf({ runId, name })));
  const toRead = new Map<string, StepKey>();
  const read = (runId: string, names: readonly string[]) => {
    for (const name of names) toRead.set(keyOf({ runId, name }), { runId, name });
  };
  for (const [k, f] of fanIn) {
    const deps = f.def.dag.after.get(f.step) ?? [];
    if (allHere(f.runId, deps)) {
      // Its last dependencies completed just now, so nothing can have scheduled it yet.
      ready.set(k, f);
      fanIn.delete(k);
    } else {
      read(f.runId, [f.step, ...deps]);
    }
  }
  for (const r of sinkDone.values()) {
    if (r.def.dag.sinks.length > 1 && !allHere(r.runId, r.def.dag.sinks)) read(r.runId, r.def.dag.sinks);
  }
  const status = new Map((await steps.statuses(tx, [...toRead.values()])).map((s) => [keyOf(s), s.status]));
  const isDone = (runId: string, name: string) => {
    const s = status.get(keyOf({ runId, name }));
    return here.has(keyOf({ runId, name })) || s === "completed" || s === "reused";
  };
  for (const [k, f] of fanIn) {
    if (status.get(k) === "waiting" && (f.def.dag.after.get(f.step) ?? []).every((d) => isDone(f.runId, d))) {
      ready.set(k, f);
    }
  }
  const finished = [...sinkDone.values()].filter(
    (r) => r.def.dag.sinks.length === 1 || r.def.dag.sinks.every((s) => isDone(r.runId, s)),
  );
  return { ready: [...ready.values()], finished };
}

/** A finished run's output: its sink's (hash), or an object keyed by sink when several (new blob). */
interface RunResult {
  id: string;
  outputHash: string;
  blob?: blobs.Blob;
}

/**
 * The outputs of finished runs. `known` has the output hashes of steps completed in this
 * transaction; others are read.
 */
async function runResults(
  tx: Queryable,
  finished: readonly { runId: string; def: LoadedDefinition }[],
  known: ReadonlyMap<string, string>,
): Promise<RunResult[]> {
  const sinkKeys = finished.flatMap((r) => r.def.dag.sinks.map((name) => ({ runId: r.runId, name })));
  const missing = sinkKeys.filter((k) => !known.has(keyOf(k)));
  const hashes = new Map([
    ...known,
    ...(await steps.outputs(tx, missing)).map((o) => [keyOf(o), o.outputHash] as const),
  ]);
  const hashOf = (runId: string, name: string) => hashes.get(keyOf({ runId, name })) as string;
  const multi = finished.filter((r) => r.def.dag.sinks.length > 1);
  const values = await blobs.get(
    tx,
    multi.flatMap((r) => r.def.dag.sinks.map((s) => hashOf(r.runId, s))),
  );
  return finished.map((r) => {
    if (r.def.dag.sinks.length === 1) return { id: r.runId, outputHash: hashOf(r.runId, r.def.dag.sinks[0] as string) };
    const blob = blobs.toBlob(Object.fromEntries(r.def.dag.sinks.map((s) => [s, values.get(hashOf(r.runId, s))])));
    return { id: r.runId, outputHash: blob.hash, blob };
  });
}
