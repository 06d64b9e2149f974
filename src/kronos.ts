import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import type { PGliteOptions } from "@electric-sql/pglite";
import { type Database, migrate, openDatabase, type Queryable } from "./db/index.ts";
import { createLogger, type Logger } from "./log.ts";
import { type Clock, systemClock } from "./queue/clock.ts";
import { enqueueDueTicks, nextTick } from "./queue/cron.ts";
import { CronDefinition, JobDefinition } from "./queue/define.ts";
import { LeaderElector } from "./queue/leader.ts";
import { Loop } from "./queue/loop.ts";
import { reapExpiredLeases } from "./queue/reaper.ts";
import { deleteExpired } from "./queue/retention.ts";
import { analyzeFreshTables } from "./queue/statistics.ts";
import { HandlerRegistry, type JobHandler } from "./queue/types.ts";
import { defaultWorkerConfig, Worker, type WorkerConfig, type WorkerHooks } from "./queue/worker.ts";
import * as cronStore from "./store/cron.ts";
import type { EventRow } from "./store/events.ts";
import * as jobs from "./store/jobs.ts";
import * as nodes from "./store/nodes.ts";
import type { AnyWorkflow } from "./workflow/define.ts";
import { Engine, type StartRunParams } from "./workflow/engine.ts";
import { RunEventFeed } from "./workflow/feed.ts";
import { WorkflowRegistry } from "./workflow/registry.ts";
import type { RunEnded } from "./workflow/step-job.ts";
import { type RunView, runView } from "./workflow/views.ts";

const TERMINAL = new Set(["run_completed", "run_failed", "run_cancelled"]);

export interface KronosOptions {
  /** PostgreSQL URL; without it Kronos uses the embedded database in `dataDir`. */
  databaseUrl?: string;
  /** Embedded database directory (default ./.kronos/data). */
  dataDir?: string;
  /** An already open database (tests, embedding); Kronos will not close it. */
  db?: Database;
  worker?: Partial<WorkerConfig>;
  /** How often followers try to lead and the leader checks its lock (ms). */
  leaderCheckMs?: number;
  /** Finished runs and jobs older than this are deleted (ms); null keeps them. */
  retentionMs?: number | null;
  nodeId?: string;
  log?: Logger;
  clock?: Clock;
  hooks?: WorkerHooks;
  pglite?: Partial<PGliteOptions>;
  /** Apply migrations on open (default true). */
  migrate?: boolean;
}

export interface CronOptions {
  type: string;
  payload?: unknown;
  priority?: number;
  maxRetries?: number;
}

/**
 * One Kronos node: the job queue's worker, and (while it holds the leader lock) cron, the lease
 * reaper and retention. Any number of nodes can share one PostgreSQL database.
 *
 * @example
 * const kronos = await Kronos.open({ databaseUrl: process.env.DATABASE_URL });
 * kronos.handle("send-email", async (payload, { signal }) => sendEmail(payload, signal));
 * await kronos.start();
 * await kronos.submit({ type: "send-email", payload: { to: "a@example.com" } });
 */
export class Kronos {
  readonly db: Database;
  readonly registry = new HandlerRegistry();
  readonly workflows = new WorkflowRegistry();
  readonly engine: Engine;
  readonly feed: RunEventFeed;
  readonly worker: Worker;
  readonly leader: LeaderElector;
  readonly log: Logger;
  readonly nodeId: string;
  readonly #clock: Clock;
  readonly #ownsDb: boolean;
  readonly #leaderLoops: Loop[];
  readonly #electionLoop: Loop;
  readonly #heartbeat: Loop;
  readonly #runListeners = new Set<(e: RunEnded) => void>();
  #draining = false;
  #started = false;
  /** Every hot table has been analysed at least once: the first-statistics pass is done. */
  #statisticsSettled = false;

  private constructor(db: Database, ownsDb: boolean, options: KronosOptions) {
    this.db = db;
    this.#ownsDb = ownsDb;
    this.log = options.log ?? createLogger();
    this.#clock = options.clock ?? systemClock;
    this.nodeId = options.nodeId ?? `${hostname()}-${process.pid}-${randomUUID().slice(0, 6)}`;
    this.engine = new Engine(db, this.workflows, this.registry);
    this.feed = new RunEventFeed(db, this.log);
    this.worker = new Worker({
      db,
      registry: this.registry,
      config: options.worker,
      log: this.log,
      clock: this.#clock,
      id: this.nodeId,
      hooks: {
        ...options.hooks,
        onCommitted: (done) => {
          options.hooks?.onCommitted?.(done);
          const ids = [...done.completed.map((c) => c.job.id), ...done.failed.map((f) => f.job.id)];
          for (const e of this.engine.handler.takeEndedRuns(ids)) this.#emitRunEnded(e);
        },
      },
    });
    const leaderCheckMs = options.leaderCheckMs ?? 1_000;
    const leaseMs = options.worker?.leaseMs ?? defaultWorkerConfig.leaseMs;
    const retentionMs = options.retentionMs === undefined ? 7 * 24 * 3_600_000 : options.retentionMs;
    this.#leaderLoops = [
      new Loop("cron", 1_000, () => enqueueDueTicks(db, this.#clock), this.log),
      new Loop(
        "first statistics",
        1_000,
        async () => {
          if (this.#statisticsSettled) return;
          const { analysed, waiting } = await analyzeFreshTables(db);
          if (analysed.length > 0) this.log.info("analysed tables autovacuum has not reached yet", { analysed });
          this.#statisticsSettled = waiting.length === 0;
        },
        this.log,
      ),
      new Loop(
        "lease reaper",
        Math.max(100, Math.min(5_000, Math.floor(leaseMs / 4))),
        () => reapExpiredLeases(db, this.registry),
        this.log,
      ),
      ...(retentionMs === null
        ? []
        : [
            new Loop(
              "retention",
              60_000,
              async () => {
                const deleted = await deleteExpired(db, {
                  before: new Date(this.#clock.now().getTime() - retentionMs),
                });
                if (deleted.runs + deleted.jobs + deleted.blobs > 0)
                  this.log.info("retention deleted old rows", { ...deleted });
              },
              this.log,
            ),
          ]),
    ];
    this.leader = new LeaderElector({
      db,
      log: this.log,
      onElected: () => {
        for (const loop of this.#leaderLoops) loop.start();
      },
      onDemoted: async () => {
        await Promise.all(this.#leaderLoops.map((l) => l.stop()));
      },
    });
    this.#electionLoop = new Loop("leader election", leaderCheckMs, () => this.leader.runOnce(), this.log);
    this.#heartbeat = new Loop(
      "heartbeat",
      Math.max(1_000, leaderCheckMs),
      () =>
        nodes.heartbeat(db, {
          id: this.nodeId,
          hostname: hostname(),
          pid: process.pid,
          isLeader: this.leader.isLeader,
        }),
      this.log,
    );
  }

  /** Opens the database (PostgreSQL or embedded), applies migrations, and returns a stopped node. */
  static async open(options: KronosOptions = {}): Promise<Kronos> {
    const db =
      options.db ??
      (await openDatabase({
        databaseUrl: options.databaseUrl,
        dataDir: options.dataDir ?? "./.kronos/data",
        poolSize: Math.max(10, Math.ceil((options.worker?.concurrency ?? 10) / 5) + 6),
        pglite: options.pglite,
      }));
    if (options.migrate !== false) await migrate(db);
    return new Kronos(db, !options.db, options);
  }

  /** Registers the handler for a job type. */
  handle<P = unknown>(type: string, handler: JobHandler<P> | JobHandler<P>["run"]): this {
    this.registry.register(type, handler);
    return this;
  }

  /** Enqueues a job (on `tx` to commit it with your own writes). */
  submit(job: jobs.NewJob, tx: Queryable = this.db) {
    return jobs.submit(tx, job);
  }

  /** Declares a recurring job; each tick is enqueued once across all nodes. */
  async cron(name: string, schedule: string, job: CronOptions): Promise<void> {
    await cronStore.upsert(this.db, {
      name,
      schedule,
      type: job.type,
      payload: job.payload ?? null,
      priority: job.priority ?? 5,
      maxRetries: job.maxRetries ?? 3,
      nextRunAt: nextTick(schedule, this.#clock.now()),
    });
  }

  /**
   * Loads workflow definitions: validated, stored, and claimable by this node. Returns warnings
   * (a version whose code changed without a new version number).
   */
  async register(...definitions: AnyWorkflow[]): Promise<string[]> {
    const warnings = await this.engine.load(definitions);
    for (const w of warnings) this.log.warn(w);
    return warnings;
  }

  /** Registers what a module declared: workflows, job handlers and recurring jobs. */
  async use(...definitions: (AnyWorkflow | JobDefinition | CronDefinition)[]): Promise<void> {
    const workflows: AnyWorkflow[] = [];
    for (const d of definitions) {
      if (d instanceof JobDefinition) this.handle(d.type, d.handler);
      else if (d instanceof CronDefinition) await this.cron(d.name, d.schedule, d.job);
      else workflows.push(d);
    }
    if (workflows.length > 0) await this.register(...workflows);
  }

  /** Starts a run of a loaded workflow (on `tx` to commit it with your own writes). */
  startRun(params: StartRunParams, tx?: Queryable) {
    return this.engine.start(params, tx);
  }

  async cancelRun(runId: string) {
    const run = await this.engine.cancel(runId);
    this.#emitRunEnded({ runId: run.id, workflow: run.workflowName, outcome: "cancelled" });
    return run;
  }

  /** Calls `listener` whenever a run this node drove to its end completed, failed or was cancelled. */
  onRunEnded(listener: (e: RunEnded) => void): () => void {
    this.#runListeners.add(listener);
    return () => this.#runListeners.delete(listener);
  }

  #emitRunEnded(e: RunEnded): void {
    for (const l of this.#runListeners) l(e);
  }

  forkRun(runId: string, fromStep: string) {
    return this.engine.fork(runId, fromStep);
  }

  getRun(runId: string): Promise<RunView> {
    return runView(this.db, runId);
  }

  /** Resolves with the run once it has completed, failed or been cancelled. */
  async waitForRun(runId: string, timeoutMs = 60_000): Promise<RunView> {
    let stop = () => {};
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        timer = setTimeout(() => reject(new Error(`run ${runId} did not finish within ${timeoutMs} ms`)), timeoutMs);
        this.feed
          .watch(runId, 0, (rows: EventRow[]) => {
            if (rows.some((r) => TERMINAL.has(r.type))) resolve();
          })
          .then((s) => {
            stop = s;
          }, reject);
      });
    } finally {
      clearTimeout(timer);
      stop();
    }
    return this.getRun(runId);
  }

  get draining(): boolean {
    return this.#draining;
  }

  /** Starts claiming jobs and taking part in leader election. */
  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    await this.worker.start();
    this.#electionLoop.start();
    this.#heartbeat.start();
  }

  /**
   * Graceful stop: no new claims, running jobs get `graceMs` to finish, the rest are handed
   * back; leadership is released so another node takes over at once.
   */
  async stop(graceMs = 10_000): Promise<{ finished: boolean; handedBack: number }> {
    this.#draining = true;
    const result = this.#started ? await this.worker.stop(graceMs) : { finished: true, handedBack: 0 };
    await this.#electionLoop.stop();
    await this.#heartbeat.stop();
    await Promise.all(this.#leaderLoops.map((l) => l.stop()));
    await this.leader.resign();
    await this.feed.close();
    await nodes.remove(this.db, { id: this.nodeId }).catch(() => {});
    if (this.#ownsDb) await this.db.close();
    this.#started = false;
    return result;
  }
}
