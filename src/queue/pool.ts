import type { ClaimedJob } from "../store/jobs.ts";
import type { HandlerRegistry, JobContext } from "./types.ts";

/** How a job ended in this process (what gets recorded is up to the completer). */
export type Settled =
  | { ok: true; job: ClaimedJob; result: unknown; startedAt: number; finishedAt: number }
  | { ok: false; job: ClaimedJob; error: string; startedAt: number; finishedAt: number };

export interface PoolOptions {
  concurrency: number;
  registry: HandlerRegistry;
  /** Timeout for jobs that have none of their own. */
  defaultTimeoutMs: number;
  onSettled(outcome: Settled): void;
  now?: () => number;
}

/** One job in flight. The AbortController is made only when somebody needs the signal. */
class Running implements JobContext {
  controller: AbortController | undefined;
  settled = false;
  constructor(
    readonly job: ClaimedJob,
    readonly startedAt: number,
    readonly deadline: number,
  ) {}
  get signal(): AbortSignal {
    this.controller ??= new AbortController();
    return this.controller.signal;
  }
  abort(reason: string): void {
    this.controller ??= new AbortController();
    if (!this.controller.signal.aborted) this.controller.abort(new Error(reason));
  }
}

function message(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  return typeof error === "string" ? error : (JSON.stringify(error) ?? String(error));
}

/**
 * Runs claimed jobs with at most `concurrency` at a time. Knows nothing of the database:
 * the scheduler feeds it and `onSettled` hears every outcome once.
 */
export class WorkerPool {
  readonly #opts: PoolOptions;
  readonly #running = new Map<number, Running>();
  readonly #now: () => number;
  #sweeper: ReturnType<typeof setInterval> | undefined;
  #idleWaiters: (() => void)[] = [];

  constructor(opts: PoolOptions) {
    if (!Number.isInteger(opts.concurrency) || opts.concurrency < 1) {
      throw new Error(`concurrency must be a whole number of at least 1 (got ${opts.concurrency})`);
    }
    this.#opts = opts;
    this.#now = opts.now ?? Date.now;
  }

  get free(): number {
    return this.#opts.concurrency - this.#running.size;
  }

  get size(): number {
    return this.#running.size;
  }

  ids(): number[] {
    return [...this.#running.keys()];
  }

  /** Starts the jobs at once; the caller claims no more than `free`. */
  start(jobs: readonly ClaimedJob[]): void {
    const now = this.#now();
    for (const job of jobs) {
      const timeout = job.timeoutMs ?? this.#opts.defaultTimeoutMs;
      const r = new Running(job, now, now + timeout);
      this.#running.set(job.id, r);
      this.#run(r);
    }
    // After the loop: a handler that throws synchronously settles inside it, and a sweeper made
    // before would then outlive every job (and keep the process from exiting).
    if (this.#running.size > 0) this.#sweeper ??= setInterval(() => this.#sweep(), 100);
  }

  async #run(r: Running): Promise<void> {
    const handler = this.#opts.registry.get(r.job.type);
    try {
      if (!handler) throw new Error(`no handler registered for job type "${r.job.type}"`);
      const result = await handler.run(r.job.payload, r);
      this.#settle(r, { ok: true, job: r.job, result, startedAt: r.startedAt, finishedAt: this.#now() });
    } catch (error) {
      this.#settle(r, {
        ok: false,
        job: r.job,
        error: message(error),
        startedAt: r.startedAt,
        finishedAt: this.#now(),
      });
    }
  }

  #settle(r: Running, outcome: Settled): void {
    if (r.settled) return;
    r.settled = true;
    // A job re-claimed after its lease was lost may be here twice; only forget the entry if it is this one.
    if (this.#running.get(r.job.id) === r) this.#running.delete(r.job.id);
    this.#opts.onSettled(outcome);
    if (this.#running.size === 0) {
      clearInterval(this.#sweeper);
      this.#sweeper = undefined;
      for (const wake of this.#idleWaiters.splice(0)) wake();
    }
  }

  /** Fails jobs past their deadline and fires their signal; a late result is ignored. */
  #sweep(): void {
    const now = this.#now();
    for (const r of this.#running.values()) {
      if (now < r.deadline) continue;
      const ms = r.deadline - r.startedAt;
      r.abort(`timed out after ${ms} ms`);
      this.#settle(r, {
        ok: false,
        job: r.job,
        error: `timed out after ${ms} ms`,
        startedAt: r.startedAt,
        finishedAt: now,
      });
    }
  }

  /** Fires the AbortSignal of these jobs (cancelled, lease lost); they settle when their handler returns. */
  abort(ids: Iterable<number>, reason: string): void {
    for (const id of ids) this.#running.get(id)?.abort(reason);
  }

  /**
   * Stops waiting for jobs still running: fires their signals and forgets them, returning them so the
   * caller can hand them back. Their late outcomes are ignored.
   */
  abandon(reason: string): ClaimedJob[] {
    const left = [...this.#running.values()];
    for (const r of left) {
      r.abort(reason);
      r.settled = true;
    }
    this.#running.clear();
    clearInterval(this.#sweeper);
    this.#sweeper = undefined;
    for (const wake of this.#idleWaiters.splice(0)) wake();
    return left.map((r) => r.job);
  }

  /** Resolves when no job is running, or after `timeoutMs`. */
  idle(timeoutMs = Number.POSITIVE_INFINITY): Promise<boolean> {
    if (this.#running.size === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = Number.isFinite(timeoutMs) ? setTimeout(() => resolve(false), timeoutMs) : undefined;
      this.#idleWaiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }
}
