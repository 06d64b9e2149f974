import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { type Database, isConnectionError } from "../db/index.ts";
import type { Logger } from "../log.ts";
import type { ClaimedJob } from "../store/jobs.ts";
import * as jobs from "../store/jobs.ts";
import { type Clock, systemClock } from "./clock.ts";
import { Completer } from "./completer.ts";
import { type Settled, WorkerPool } from "./pool.ts";
import { defaultRetryPolicy, type RetryPolicy } from "./retry.ts";
import type { CompletedJob, FailedJob, HandlerRegistry } from "./types.ts";

export interface WorkerConfig {
  /** Jobs run at once (WORKER_CONCURRENCY). */
  concurrency: number;
  /** Most jobs taken per claim (SCHEDULER_BATCH_SIZE). */
  batchSize: number;
  /** Fallback poll when no notification arrives (SCHEDULER_POLL_INTERVAL). */
  pollIntervalMs: number;
  /** Default per-job time limit (JOB_TIMEOUT). */
  jobTimeoutMs: number;
  /** How long a claim is good for without renewal; a dead worker's jobs come back after this. */
  leaseMs: number;
  retry: RetryPolicy;
}

export const defaultWorkerConfig: WorkerConfig = {
  concurrency: 10,
  batchSize: 10,
  pollIntervalMs: 2_000,
  jobTimeoutMs: 30 * 60_000,
  leaseMs: 30_000,
  retry: defaultRetryPolicy,
};

/**
 * How long a job this worker holds may expect to wait in it for a slot. While its jobs are short
 * enough for extra ones to start within about this long (mean run time × jobs waiting per slot), a
 * claim may take, and a completion may hand this worker, more jobs than it has free slots: they
 * wait in line and start as slots free, never more than `concurrency` at once. That keeps the
 * slots busy through the round trips of claims and completions (a slot held for a claim in flight
 * runs nothing), and puts more outcomes in each completion transaction, which is what makes short
 * jobs cheap. Jobs as long as this get exactly the free slots, so a job never sits in one busy
 * worker while others are idle.
 */
export const HOLD_WAIT_MS = 20;
/**
 * At most this many held jobs wait per slot, however short the jobs. Measured with 50 workers on
 * the six-step benchmark: 8 gave about 10% more than 4 (twelve alternating pairs).
 */
const MAX_WAITING_PER_SLOT = 8;
/**
 * Completion transactions in flight at once on PostgreSQL, for outcomes whose handler names a lane
 * (JobHandler.laneKey: a workflow step's run). One lane writes one batch at a time, and with the
 * workflow engine's hooks a batch of steps costs about 100 µs a step of serial statement time: two
 * lanes overlap one batch's round trips and commit with the other's statements. Six-step
 * benchmark, 50 workers, order-balanced pairs: see docs/benchmarks.md. PGlite has one connection,
 * so one lane there.
 */
export const COMPLETION_LANES = 2;

export interface WorkerHooks {
  onClaimed?(count: number): void;
  onCommitted?(done: { completed: CompletedJob[]; failed: FailedJob[]; refused: number }): void;
}

/**
 * One node's job runner: claims due jobs (woken by NOTIFY, else by polling), runs them in a
 * pool, records outcomes in batches, renews leases, and on stop hands unfinished jobs back.
 */
export class Worker {
  readonly id: string;
  readonly #db: Database;
  readonly #registry: HandlerRegistry;
  readonly #config: WorkerConfig;
  readonly #log: Logger;
  readonly #hooks: WorkerHooks;
  readonly #pool: WorkerPool;
  readonly #completer: Completer;
  readonly #refillAt: number;
  #running = false;
  #claiming: Promise<void> | undefined;
  #claimAgain = false;
  /** Jobs promised to this worker: by a claim in flight, or by a completion handing them off. */
  #reserved = 0;
  /** Claimed or handed-off jobs that came without a free slot: held under our lease, started as slots free. */
  #waiting: ClaimedJob[] = [];
  /** Smoothed mean run time of this worker's jobs (ms); infinite until one has run. */
  #meanRunMs = Number.POSITIVE_INFINITY;
  #backlog = false;
  #timers: ReturnType<typeof setInterval>[] = [];
  #unlisten: (() => Promise<void>)[] = [];

  constructor(options: {
    db: Database;
    registry: HandlerRegistry;
    config?: Partial<WorkerConfig>;
    log: Logger;
    clock?: Clock;
    id?: string;
    hooks?: WorkerHooks;
  }) {
    this.id = options.id ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
    this.#db = options.db;
    this.#registry = options.registry;
    this.#config = { ...defaultWorkerConfig, ...options.config };
    this.#log = options.log;
    this.#hooks = options.hooks ?? {};
    const clock = options.clock ?? systemClock;
    this.#refillAt = Math.max(1, Math.ceil(Math.min(this.#config.batchSize, this.#config.concurrency) / 2));
    this.#completer = new Completer({
      db: this.#db,
      registry: this.#registry,
      retry: this.#config.retry,
      clock,
      log: this.#log,
      lanes: this.#db.backend === "pglite" ? 1 : COMPLETION_LANES,
      onCommitted: (done) => this.#hooks.onCommitted?.(done),
      handoff: {
        worker: this.id,
        leaseMs: this.#config.leaseMs,
        reserve: (n) => {
          const granted = this.#running ? Math.max(0, Math.min(n, this.#room())) : 0;
          this.#reserved += granted;
          return granted;
        },
        unreserve: (n) => {
          this.#reserved -= n;
        },
        start: (claimed) => {
          this.#reserved -= claimed.length;
          this.#hooks.onClaimed?.(claimed.length);
          this.#startOrHold(claimed);
        },
      },
    });
    this.#pool = new WorkerPool({
      concurrency: this.#config.concurrency,
      registry: this.#registry,
      defaultTimeoutMs: this.#config.jobTimeoutMs,
      // Run times and deadlines on the worker's clock, like its retry times.
      now: () => clock.now().getTime(),
      onSettled: (outcome: Settled) => {
        const ms = outcome.finishedAt - outcome.startedAt;
        this.#meanRunMs = Number.isFinite(this.#meanRunMs) ? this.#meanRunMs * 0.9 + ms * 0.1 : ms;
        this.#completer.push(outcome);
        this.#startWaiting();
        // A slot came free: take more without waiting for a notification when a wake-up was
        // missed while there was no room, or when work is waiting (once there is room for enough
        // jobs to make the claim worth a round trip).
        if (this.#claimAgain || (this.#backlog && this.#room() >= this.#refillAt)) this.wake();
      },
    });
  }

  /**
   * How many more jobs this worker may take on now, by claim or handoff: its free slots, less the
   * jobs promised to it (claims and completions in flight) and those waiting in line, plus, while
   * its jobs are short, the waiting line's allowance (HOLD_WAIT_MS).
   */
  #room(): number {
    const slots = this.#config.concurrency;
    const waitable = Math.floor((slots * HOLD_WAIT_MS) / Math.max(this.#meanRunMs, 0.01));
    return this.#pool.free - this.#reserved - this.#waiting.length + Math.min(waitable, MAX_WAITING_PER_SLOT * slots);
  }

  /** Queues jobs behind those already waiting and starts what fits in the free slots. */
  #startOrHold(claimed: ClaimedJob[]): void {
    this.#waiting.push(...claimed);
    this.#startWaiting();
  }

  /** Starts waiting jobs in the slots that came free, first come first served. */
  #startWaiting(): void {
    const now = Math.min(this.#waiting.length, this.#pool.free);
    if (now > 0) this.#pool.start(this.#waiting.splice(0, now));
  }

  /** Forgets waiting jobs that were cancelled or whose lease was lost: they must not start. */
  #dropWaiting(ids: Iterable<number>): void {
    const gone = new Set(ids);
    if (this.#waiting.length > 0) this.#waiting = this.#waiting.filter((j) => !gone.has(j.id));
  }

  /** Jobs this worker holds that have not finished: running, and handed off but waiting. */
  get inFlight(): number {
    return this.#pool.size + this.#waiting.length;
  }

  async start(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    this.#unlisten.push(await this.#db.listen("kronos_jobs", () => this.wake()));
    this.#unlisten.push(
      await this.#db.listen("kronos_cancel", (payload) => {
        const ids = payload.split(",").map(Number);
        this.#pool.abort(ids, "job cancelled");
        this.#dropWaiting(ids);
      }),
    );
    this.#timers.push(setInterval(() => this.wake(), this.#config.pollIntervalMs));
    this.#timers.push(setInterval(() => void this.renewLeases(), Math.max(50, Math.floor(this.#config.leaseMs / 3))));
    this.wake();
  }

  /**
   * Claims now. Coalesced: a wake-up during a claim is remembered and served by one more claim
   * after it, or, if the pool is full then, by the next slot that comes free; none is lost.
   */
  wake(): void {
    if (!this.#running) return;
    this.#claimAgain = true;
    if (this.#claiming) return;
    this.#claiming = this.#claimLoop().finally(() => {
      this.#claiming = undefined;
      if (this.#claimAgain && this.#room() > 0) this.wake();
    });
  }

  async #claimLoop(): Promise<void> {
    while (this.#running && this.#claimAgain && this.#room() > 0) {
      this.#claimAgain = false;
      try {
        await this.runOnce();
      } catch (error) {
        this.#log[isConnectionError(error) ? "warn" : "error"]("claim failed", { error: String(error) });
        return;
      }
      if (this.#backlog && this.#room() >= this.#refillAt) this.#claimAgain = true;
    }
  }

  /** Claims up to min(batch size, room) jobs and starts them, or queues them for a slot; returns how many. */
  async runOnce(): Promise<number> {
    const limit = Math.min(this.#config.batchSize, this.#room());
    if (limit <= 0) return 0;
    const claimParams = {
      worker: this.id,
      limit,
      leaseMs: this.#config.leaseMs,
      types: this.#registry.types(),
      definitionIds: this.#registry.definitionIds(),
    };
    // Count the claim's jobs as taken while it is in flight, or a completion could take their room too.
    this.#reserved += limit;
    let claimed: ClaimedJob[] = [];
    try {
      claimed = await this.#claim(claimParams);
    } finally {
      this.#reserved -= limit;
      if (claimed.length > 0) {
        this.#hooks.onClaimed?.(claimed.length);
        this.#startOrHold(claimed);
      }
    }
    this.#backlog = claimed.length === limit;
    return claimed.length;
  }

  /** Claims, in a transaction with the handlers' onClaimed hooks when any has one. */
  async #claim(claimParams: jobs.ClaimParams): Promise<ClaimedJob[]> {
    const needsTx = claimParams.types.some((t) => this.#registry.get(t)?.onClaimed);
    return needsTx
      ? await this.#db.transaction(async (tx) => {
          const got = await jobs.claim(tx, claimParams);
          const dropped = new Set<number>();
          for (const type of new Set(got.map((j) => j.type))) {
            const settled = await this.#registry.get(type)?.onClaimed?.(
              tx,
              got.filter((j) => j.type === type),
            );
            for (const id of settled ?? []) dropped.add(id);
          }
          return dropped.size > 0 ? got.filter((j) => !dropped.has(j.id)) : got;
        })
      : await jobs.claim(this.#db, claimParams);
  }

  /** Extends the leases of everything this worker holds; aborts jobs whose lease was lost. */
  async renewLeases(): Promise<void> {
    const ids = [...this.#pool.ids(), ...this.#waiting.map((j) => j.id), ...this.#completer.pendingIds()];
    if (ids.length === 0) return;
    try {
      const held = await jobs.renewLeases(this.#db, { worker: this.id, ids, leaseMs: this.#config.leaseMs });
      // Only the ids sent can be judged: a job claimed while the query was in flight is not lost.
      const sent = new Set(ids);
      const lost = this.#pool.ids().filter((id) => sent.has(id) && !held.has(id));
      if (lost.length > 0) this.#pool.abort(lost, "lease lost: the job was taken back or cancelled");
      this.#dropWaiting(this.#waiting.filter((j) => sent.has(j.id) && !held.has(j.id)).map((j) => j.id));
    } catch (error) {
      this.#log.warn("lease renewal failed", { error: String(error) });
    }
  }

  /**
   * Stops claiming, lets running jobs finish within `graceMs`, then fires the signals of the rest
   * and hands them back to the queue (their attempt not counted), and writes every outcome.
   */
  async stop(graceMs = 10_000): Promise<{ finished: boolean; handedBack: number }> {
    if (!this.#running) return { finished: true, handedBack: 0 };
    this.#running = false;
    // Stop polling, but keep renewing leases while running jobs drain.
    const [poll, ...rest] = this.#timers;
    clearInterval(poll);
    this.#timers = rest;
    await this.#claiming;
    // Outcomes written while draining can hand off follow-up jobs reserved before the stop,
    // so drain until neither the pool nor the completer has anything left, or time is up.
    const deadline = Date.now() + graceMs;
    let finished = true;
    do {
      finished = await this.#pool.idle(Math.max(0, deadline - Date.now()));
      await this.#completer.idle();
    } while (finished && this.#pool.size > 0);
    // Past the grace: running jobs are abandoned; jobs still waiting for a slot never
    // started. Both go back to the queue without counting the attempt.
    const left = [...(finished ? [] : this.#pool.abandon("shutting down")), ...this.#waiting.splice(0)];
    let handedBack = 0;
    if (left.length > 0) {
      handedBack = await jobs.release(this.#db, { worker: this.id, ids: left.map((j) => j.id) }).catch((error) => {
        this.#log.warn("could not hand jobs back; their leases will expire", { error: String(error) });
        return 0;
      });
      await this.#completer.idle();
    }
    for (const t of this.#timers) clearInterval(t);
    this.#timers = [];
    for (const stop of this.#unlisten.splice(0)) await stop().catch(() => {});
    return { finished, handedBack };
  }
}
