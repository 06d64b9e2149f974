import type { Queryable } from "../db/index.ts";
import type { ClaimedJob } from "../store/jobs.ts";

/** What a job handler gets besides its payload. */
export interface JobContext {
  readonly job: ClaimedJob;
  /** Fires on cancel, timeout, lost lease or shutdown past the grace period. */
  readonly signal: AbortSignal;
}

export interface CompletedJob {
  job: ClaimedJob;
  result: unknown;
  startedAt: number;
  finishedAt: number;
}

export interface FailedJob {
  job: ClaimedJob;
  error: string;
  /** When it runs again; null when it went to the dead-letter state. */
  retryAt: Date | null;
  startedAt: number;
  finishedAt: number;
}

/**
 * Runs jobs of one type. The optional hooks run inside the transaction that records the outcome,
 * so whatever they write commits together with it (the workflow engine keeps step outputs,
 * events and the next steps' jobs this way).
 */
export interface JobHandler<P = unknown, Prepared = unknown> {
  run(payload: P, ctx: JobContext): unknown | Promise<unknown>;
  /** Keep the handler's return value in the job row (default true). */
  storeResult?: boolean;
  /**
   * Keep the job's row once it completes (default true). A handler whose own records say all
   * there is to say about a completed job sets false: the row is deleted by the transaction that
   * records the completion, which writes no new row version and no index entries. Failed jobs are
   * always kept (retry, dead-letter).
   */
  keepCompleted?: boolean;
  /**
   * Which completion lane this job's outcome takes, when the completer has several (worker.ts,
   * COMPLETION_LANES): outcomes with equal keys are committed one batch after another, in the order
   * they came; outcomes with different keys may be committed by concurrent transactions. A handler
   * whose hooks write rows shared by several jobs gives those jobs one key (a workflow step: its
   * run). Without it, every outcome of the handler takes the first lane.
   */
  laneKey?(job: ClaimedJob): string;
  /** Runs in the claim's transaction; returns ids of jobs it settled itself, which are not run. */
  onClaimed?(tx: Queryable, jobs: readonly ClaimedJob[]): Promise<Iterable<number> | undefined>;
  /**
   * Statements sent together with the queue's own outcome writes, in the same transaction, before
   * the completer knows which outcomes it accepts: they share one round trip. Whatever this writes
   * must be harmless for an outcome that is then refused (a stale attempt). Its result is passed to
   * onCompleted.
   */
  prepareOutcomes?(tx: Queryable, completed: readonly CompletedJob[], failed: readonly FailedJob[]): Promise<Prepared>;
  /** `jobs` are the accepted completions; `prepared` is what prepareOutcomes returned for the batch. */
  onCompleted?(tx: Queryable, jobs: readonly CompletedJob[], handoff: Handoff, prepared: Prepared): Promise<void>;
  onFailed?(tx: Queryable, jobs: readonly FailedJob[]): Promise<void>;
}

/**
 * Lets a completion hook create follow-up jobs already claimed by this worker, so they start the
 * moment the transaction commits: no notification, no claim round trip (a workflow's next step).
 */
export interface Handoff {
  readonly worker: string;
  readonly leaseMs: number;
  /**
   * Reserves room for up to `n` jobs; returns how many were granted. Room is a free slot or, while
   * this worker's jobs are short, a place to wait for one (worker.ts, HOLD_WAIT_MS).
   */
  reserve(n: number): number;
  /** Jobs created claimed; the worker starts them after the commit, each as soon as it has a slot. */
  readonly claimed: ClaimedJob[];
}

/** Handlers by job type, plus workflow definitions whose steps this node may claim. */
export class HandlerRegistry {
  readonly #handlers = new Map<string, JobHandler>();
  readonly #definitionIds = new Set<number>();

  register<P>(type: string, handler: JobHandler<P> | JobHandler<P>["run"]): void {
    if (!type) throw new Error("job type must not be empty");
    const h = typeof handler === "function" ? { run: handler } : handler;
    this.#handlers.set(type, h as JobHandler);
  }

  get(type: string): JobHandler | undefined {
    return this.#handlers.get(type);
  }

  /** Plain job types (workflow steps are claimed by definition instead). */
  types(): string[] {
    return [...this.#handlers.keys()];
  }

  allowDefinition(id: number): void {
    this.#definitionIds.add(id);
  }

  definitionIds(): number[] {
    return [...this.#definitionIds];
  }
}
