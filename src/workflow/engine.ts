import { randomUUID } from "node:crypto";
import { Batcher } from "../db/batcher.ts";
import type { Database, Queryable } from "../db/index.ts";
import { FailedPreconditionError, InvalidArgumentError, NotFoundError } from "../errors.ts";
import type { HandlerRegistry } from "../queue/types.ts";
import * as blobs from "../store/blobs.ts";
import type { NewEvent } from "../store/events.ts";
import * as events from "../store/events.ts";
import * as jobs from "../store/jobs.ts";
import * as runs from "../store/runs.ts";
import * as steps from "../store/steps.ts";
import { downstreamOf } from "./dag.ts";
import type { AnyWorkflow } from "./define.ts";
import type { LoadedDefinition, WorkflowRegistry } from "./registry.ts";
import { STEP_JOB, StepJobHandler, scheduleSteps } from "./step-job.ts";

export interface StartRunParams {
  workflowName: string;
  input?: unknown;
  /** A loaded version; the latest when omitted. */
  version?: string;
  /** A second start with the same key returns the first run (`existing: true`). */
  idempotencyKey?: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Checks a run id's shape (so a malformed one is InvalidArgument, not a database error). */
export function checkRunId(runId: string, field = "runId"): string {
  if (typeof runId !== "string" || !UUID.test(runId)) {
    throw new InvalidArgumentError(field, `${field} "${String(runId)}" is not a run id (expected a UUID)`);
  }
  return runId.toLowerCase();
}

/**
 * Starts, cancels and forks runs. Steps execute through the queue as `kronos.workflow_step` jobs
 * (see step-job.ts), so every write here happens in one transaction with its events.
 */
export class Engine {
  readonly handler: StepJobHandler;
  readonly #starts: Batcher<runs.StartRun, { id: string; existing: boolean }>;

  constructor(
    private readonly db: Database,
    readonly workflows: WorkflowRegistry,
    private readonly handlers: HandlerRegistry,
  ) {
    this.handler = new StepJobHandler(workflows);
    this.#starts = new Batcher((items) => runs.startMany(db, { stepJobType: STEP_JOB, runs: items }));
    handlers.register(STEP_JOB, this.handler);
  }

  /** Loads definitions, stores them, and lets this node claim their steps. Returns warnings. */
  async load(definitions: readonly AnyWorkflow[]): Promise<string[]> {
    for (const wf of definitions) this.workflows.add(wf);
    const warnings = await this.workflows.sync(this.db);
    for (const def of this.workflows.list()) this.handlers.allowDefinition(def.id);
    return warnings;
  }

  #definitionFor(name: string, version?: string): LoadedDefinition {
    if (typeof name !== "string" || name === "") {
      throw new InvalidArgumentError("workflowName", "workflowName is required");
    }
    const def = version ? this.workflows.get(name, version) : this.workflows.latest(name);
    if (def) return def;
    const known = this.workflows.names();
    if (version && this.workflows.latest(name)) {
      const versions = this.workflows
        .list()
        .filter((d) => d.name === name)
        .map((d) => d.version);
      throw new NotFoundError(
        "version",
        `workflow "${name}" has no version "${version}" loaded (versions: ${versions.join(", ")})`,
      );
    }
    throw new NotFoundError(
      "workflowName",
      `no workflow named "${name}" is loaded${known.length ? ` (workflows: ${known.join(", ")})` : ""}`,
    );
  }

  /** Starts a run: input stored, root steps scheduled, in one statement shared with concurrent starts (or on your transaction). */
  async start(p: StartRunParams, tx?: Queryable): Promise<{ runId: string; existing: boolean }> {
    const def = this.#definitionFor(p.workflowName, p.version);
    if (p.idempotencyKey !== undefined && (p.idempotencyKey.length === 0 || p.idempotencyKey.length > 500)) {
      throw new InvalidArgumentError("idempotencyKey", "idempotencyKey must be 1 to 500 characters");
    }
    const input = blobs.toBlob(p.input ?? null);
    const start: runs.StartRun = {
      id: randomUUID(),
      definitionId: def.id,
      workflowName: def.name,
      input,
      steps: def.dag.order,
      roots: def.dag.roots.map((name) => {
        const step = def.steps.get(name);
        return { name, maxRetries: step?.retries ?? 3, timeoutMs: step?.timeoutMs ?? null };
      }),
      startedData: { workflow: def.name, version: def.version, fingerprint: def.fingerprint, inputHash: input.hash },
      idempotencyKey: p.idempotencyKey,
    };
    // On the caller's transaction, alone; otherwise grouped with concurrent starts in one statement.
    const [run] = tx
      ? await runs.startMany(tx, { stepJobType: STEP_JOB, runs: [start] })
      : [await this.#starts.push(start)];
    return { runId: (run as { id: string }).id, existing: (run as { existing: boolean }).existing };
  }

  /** Cancels a running run: pending steps never start, running ones see their AbortSignal fire. */
  async cancel(runId: string): Promise<runs.RunRow> {
    const id = checkRunId(runId);
    await this.db.transaction(async (tx) => {
      const status = (await runs.lock(tx, { ids: [id] })).get(id);
      if (!status) throw new NotFoundError("runId", `run ${id} does not exist`);
      if (status !== "running")
        throw new FailedPreconditionError(`run ${id} is already ${status}; only a running run can be cancelled`);
      await runs.cancel(tx, { id });
      await jobs.cancelMany(tx, { ids: await steps.cancelUnfinished(tx, { runId: id }) });
      await events.append(tx, [{ runId: id, type: "run_cancelled" }]);
    });
    return (await runs.get(this.db, { id })) as runs.RunRow;
  }

  /**
   * Forks a run from `fromStep`: a new run, linked to its parent, that reuses the recorded output
   * of every step neither `fromStep` nor downstream of it, and runs the rest with the definition
   * loaded now. Nothing upstream runs again; the parent gets a run_forked event.
   */
  async fork(runId: string, fromStep: string): Promise<{ runId: string }> {
    const parentId = checkRunId(runId);
    const parent = await runs.get(this.db, { id: parentId });
    if (!parent) throw new NotFoundError("runId", `run ${parentId} does not exist`);
    const def = this.workflows.latest(parent.workflowName);
    if (!def) {
      throw new FailedPreconditionError(
        `workflow "${parent.workflowName}" is not loaded on this node, so its run cannot be forked here`,
      );
    }
    if (typeof fromStep !== "string" || !def.steps.has(fromStep)) {
      throw new InvalidArgumentError(
        "fromStep",
        `workflow "${def.name}" has no step "${String(fromStep)}" (steps: ${def.dag.order.join(", ")})`,
      );
    }
    const rerun = downstreamOf(def.dag, fromStep);
    return this.db.transaction(async (tx) => {
      const recorded = new Map(
        (await steps.listForRun(tx, { runId: parentId }))
          .filter((s) => s.outputHash !== null && (s.status === "completed" || s.status === "reused"))
          .map((s) => [s.name, s.outputHash as string]),
      );
      const reused = new Map(
        def.dag.order.filter((s) => !rerun.has(s) && recorded.has(s)).map((s) => [s, recorded.get(s) as string]),
      );
      const toRun = def.dag.order.filter((s) => !reused.has(s));
      // The child refers to its parent's input and reused outputs without storing them again:
      // hold them so retention cannot remove them before this commits.
      const gone = await blobs.hold(tx, [parent.inputHash, ...reused.values()]);
      if (gone.length > 0) {
        throw new FailedPreconditionError(
          `run ${parentId} cannot be forked: ${gone.length} of its recorded values were removed by retention`,
        );
      }
      const child = await runs.insert(tx, {
        definitionId: def.id,
        workflowName: def.name,
        inputHash: parent.inputHash,
        parentRunId: parentId,
        forkedFrom: fromStep,
      });
      const waits = (s: string) => (def.dag.after.get(s) ?? []).some((d) => !reused.has(d));
      await steps.insertMany(tx, [
        ...[...reused].map(([name, outputHash]) => ({
          runId: child.id,
          name,
          status: "reused" as const,
          outputHash,
        })),
        ...toRun.map((name) => ({ runId: child.id, name, status: "waiting" as const })),
      ]);
      await runs.lock(tx, { ids: [parentId, child.id] });
      const out: NewEvent[] = [
        {
          runId: child.id,
          type: "run_started",
          data: {
            workflow: def.name,
            version: def.version,
            fingerprint: def.fingerprint,
            inputHash: parent.inputHash,
            parentRunId: parentId,
            forkedFrom: fromStep,
          },
        },
        ...[...reused].map(([name, outputHash]) => ({
          runId: child.id,
          type: "step_completed" as const,
          step: name,
          data: { outputHash, reused: true, fromRun: parentId },
        })),
      ];
      await scheduleSteps(
        tx,
        toRun.filter((s) => !waits(s)).map((step) => ({ def, runId: child.id, step })),
        out,
      );
      out.push({ runId: parentId, type: "run_forked", step: fromStep, data: { childRunId: child.id } });
      await events.append(tx, out);
      return { runId: child.id };
    });
  }
}
