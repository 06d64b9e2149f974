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
 * How long a handed-off job may expect to wait in this worker for a slot. A completion may hand
 * this worker more follow-up jobs than it has free slots when its jobs are short enough for the
 * extra ones to start within about this long (mean run time × jobs waiting per slot); they then go
 * into one transaction together, which is what makes short jobs cheap. Jobs as long as this get
 * exactly the free slots, so a follow-up never sits in one busy worker while others are idle.
 */
export const HANDOFF_WAIT_MS = 20;
/**
 * At most this many handed-off jobs wait per slot, however short the jobs. Measured with 50
 * workers on the six-step benchmark: 8 gave about 10% more than 4 (twelve alternating pairs).
 */
const MAX_WAITING_PER_SLOT = 8;

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
  /** Slots promised to jobs being claimed: by a claim in flight, or by a completion handing them off. */
  #reserved = 0;
  /** Handed-off jobs that came without a free slot: held under our lease, started as slots free. */
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
      onCommitted: (done) => this.#hooks.onCommitted?.(done),
      handoff: {
        worker: this.id,
        leaseMs: this.#config.leaseMs,
        reserve: (n) => {
          const granted = this.#running ? Math.max(0, Math.min(n, this.#handoffRoom())) : 0;
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
        // Slots came free: take more without waiting for a notification when a wake-up was
        // missed while the pool was full, or when work is waiting (once enough slots are free
        // to make the claim worth a round trip).
        if (this.#claimAgain || (this.#backlog && this.#free() >= this.#refillAt)) this.wake();
      },
    });
  }

  /** Slots neither running a job nor promised to one (negative while handed-off jobs wait). */
  #free(): number {
    return this.#pool.free - this.#reserved - this.#waiting.length;
  }

  /** How many jobs a completion may hand to this worker now (see HANDOFF_WAIT_MS). */
  #handoffRoom(): number {
    const slots = this.#config.concurrency;
    const waitable = Math.floor((slots * HANDOFF_WAIT_MS) / Math.max(this.#meanRunMs, 0.01));
    return this.#free() + Math.min(waitable, MAX_WAITING_PER_SLOT * slots);
  }

  /** Slots free now and not promised (to a claim in flight): where handed-off jobs may start. */
  #startable(): number {
    return Math.max(0, this.#pool.free - this.#reserved);
  }

  /** Starts what fits in the pool; the rest waits for slots (only handed-off jobs get here). */
  #startOrHold(claimed: ClaimedJob[]): void {
    const now = Math.min(claimed.length, this.#startable());
    if (now > 0) this.#pool.start(claimed.slice(0, now));
    if (now < claimed.length) this.#waiting.push(...claimed.slice(now));
  }

  /** Starts waiting jobs in the slots that came free (after a job settled or a claim let go). */
  #startWaiting(): void {
    const now = Math.min(this.#waiting.length, this.#startable());
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
      if (this.#claimAgain && this.#free() > 0) this.wake();
    });
  }

  async #claimLoop(): Promise<void> {
    while (this.#running && this.#claimAgain && this.#free() > 0) {
      this.#claimAgain = false;
      try {
        await this.runOnce();
      } catch (error) {
        this.#log[isConnectionError(error) ? "warn" : "error"]("claim failed", { error: String(error) });
        return;
      }
      if (this.#backlog && this.#free() >= this.#refillAt) this.#claimAgain = true;
    }
  }

  /** Claims up to min(batch size, free slots) jobs and starts them; returns how many. */
  async runOnce(): Promise<number> {
    const limit = Math.min(this.#config.batchSize, this.#free());
    if (limit <= 0) return 0;
    const claimParams = {
      worker: this.id,
      limit,
      leaseMs: this.#config.leaseMs,
      types: this.#registry.types(),
      definitionIds: this.#registry.definitionIds(),
    };
    // Hold the slots while the claim is in flight, or a completion could hand them off too.
    this.#reserved += limit;
    let claimed: ClaimedJob[] = [];
    try {
      claimed = await this.#claim(claimParams);
    } finally {
      this.#reserved -= limit;
      // The claimed jobs take the slots held for them; handed-off jobs held back meanwhile, the rest.
      if (claimed.length > 0) {
        this.#hooks.onClaimed?.(claimed.length);
        this.#pool.start(claimed);
      }
      this.#startWaiting();
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
    // Past the grace: running jobs are abandoned; handed-off jobs still waiting for a slot never
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
