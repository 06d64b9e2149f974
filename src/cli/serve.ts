import { HealthState } from "../api/health.ts";
import { startServers } from "../api/servers.ts";
import { type Config, configHelp, loadConfig } from "../config/index.ts";
import { sql } from "../db/index.ts";
import { mountDebugger } from "../debugger/index.ts";
import { Kronos } from "../kronos.ts";
import { createLogger, type Logger } from "../log.ts";
import { createKronosMetrics, MetricsRegistry } from "../metrics/index.ts";
import { Loop } from "../queue/loop.ts";
import * as jobs from "../store/jobs.ts";
import { loadWorkflowModules } from "../workflow/loader.ts";
import { STEP_JOB } from "../workflow/step-job.ts";
import { type CommandSpec, helpText, parseCommand } from "./args.ts";

export const serveSpec: CommandSpec = {
  name: "serve",
  summary: "run a Kronos node: workers, scheduler, API, debugger UI and metrics",
  usage: "kronos serve [--workflows FILE_OR_FOLDER]... [settings]",
  options: {
    workflows: {
      type: "string",
      multiple: true,
      short: "w",
      help: "workflow file or folder to load (repeatable); its exports that are workflows are registered",
    },
  },
  more: configHelp(),
};

/** Options naming config settings, accepted as flags (`--poll-interval 500ms`). */
function settingFlags(): Record<string, { type: "string" }> {
  const flags: Record<string, { type: "string" }> = {};
  for (const line of configHelp().split("\n")) {
    const m = line.match(/--([a-z-]+)/);
    if (m?.[1]) flags[m[1]] = { type: "string" };
  }
  return flags;
}

export interface ServeHandle {
  kronos: Kronos;
  adminPort: number;
  grpcPort: number | null;
  metricsPort: number | null;
  /** Graceful stop: health goes NOT_SERVING, jobs drain within the grace period, listeners close. */
  stop(): Promise<void>;
}

/** Starts a node from a config and workflow paths (also used by tests and the smoke test). */
export async function startNode(config: Config, workflowPaths: readonly string[], log: Logger): Promise<ServeHandle> {
  const metrics = new MetricsRegistry();
  const health = new HealthState("NOT_SERVING");
  let kronos: Kronos | undefined;
  const m = createKronosMetrics(metrics, { queueDepth: () => (kronos ? jobs.countDue(kronos.db) : 0) });
  kronos = await Kronos.open({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    nodeId: config.nodeId,
    log,
    leaderCheckMs: config.leaderCheckMs,
    retentionMs: config.retentionMs,
    worker: {
      concurrency: config.workerConcurrency,
      batchSize: config.batchSize,
      pollIntervalMs: config.pollIntervalMs,
      jobTimeoutMs: config.jobTimeoutMs,
      leaseMs: config.leaseMs,
    },
    hooks: {
      onClaimed: (n) => m.claimBatchSize.observe(n),
      onCommitted: ({ completed, failed, refused }) => {
        for (const c of completed) {
          m.jobsCompleted.inc({ type: c.job.type, outcome: "completed" });
          m.jobDuration.observe({ type: c.job.type }, (c.finishedAt - c.startedAt) / 1000);
          if (c.job.type === STEP_JOB && c.job.definitionId !== null) {
            const workflow = kronos?.workflows.byId(c.job.definitionId)?.name ?? "unknown";
            const step = (c.job.payload as { step: string }).step;
            m.stepDuration.observe({ workflow, step }, (c.finishedAt - c.startedAt) / 1000);
          }
        }
        for (const f of failed) m.jobsCompleted.inc({ type: f.job.type, outcome: f.retryAt ? "retried" : "dead" });
        if (refused > 0) m.jobsCompleted.inc({ type: "*", outcome: "refused" }, refused);
      },
    },
  });
  const node = kronos;
  node.onRunEnded((e) => m.workflowRuns.inc({ workflow: e.workflow, outcome: e.outcome }));
  for (const m of await loadWorkflowModules(workflowPaths)) {
    await node.use(...m.workflows, ...m.jobs, ...m.crons);
    log.info("loaded module", {
      file: m.file,
      workflows: m.workflows.map((w) => `${w.name}@${w.version}`),
      jobs: m.jobs.map((j) => j.type),
      crons: m.crons.map((c) => c.name),
    });
  }
  await node.start();
  const servers = await startServers({
    kronos: node,
    config,
    health,
    metrics,
    log,
    rpcMetrics: m,
    mountAdmin: (app) => mountDebugger(app, { kronos: node, apiToken: config.apiToken, log }),
  });
  // Health follows the database: NOT_SERVING while it cannot be reached or while draining.
  const dbCheck = new Loop(
    "database health check",
    1_000,
    async () => {
      try {
        // A database that stops answering without closing connections must not look healthy.
        const answered = await Promise.race([
          node.db.query(sql`SELECT 1`).then(() => true),
          Bun.sleep(2_000).then(() => false),
        ]);
        if (!answered) throw new Error("database did not answer SELECT 1 within 2 s");
        health.set(node.draining ? "NOT_SERVING" : "SERVING");
      } catch (error) {
        if (health.status() === "SERVING")
          log.warn("database unreachable; health is NOT_SERVING", { error: String(error) });
        health.set("NOT_SERVING");
      }
    },
    log,
  );
  await dbCheck.runOnce();
  dbCheck.start();
  log.info("kronos is ready", {
    database: config.databaseUrl ? "postgres" : `embedded (${config.dataDir})`,
    admin: `http://localhost:${servers.adminPort}/`,
    debugger: `http://localhost:${servers.adminPort}/debugger/`,
    grpc: servers.grpcPort,
    metrics: servers.metricsPort,
    workflows: node.workflows.list().map((d) => `${d.name}@${d.version}`),
    stepJobType: STEP_JOB,
  });
  if (!config.apiToken)
    log.warn("KRONOS_API_TOKEN is not set: the API and debugger are open to anyone who can reach them");
  let stopping: Promise<void> | undefined;
  return {
    kronos: node,
    adminPort: servers.adminPort,
    grpcPort: servers.grpcPort,
    metricsPort: servers.metricsPort,
    stop: () => {
      stopping ??= (async () => {
        health.set("NOT_SERVING");
        await dbCheck.stop();
        const result = await node.stop(config.shutdownGraceMs);
        log.info("stopped", result);
        await servers.close();
      })();
      return stopping;
    },
  };
}

export async function serveCommand(argv: string[]): Promise<number> {
  const { values } = parseCommand(serveSpec, argv, settingFlags());
  if (values.help) {
    console.log(helpText(serveSpec));
    return 0;
  }
  const { workflows, ...flags } = values as Record<string, string | string[] | boolean | undefined>;
  const config = loadConfig({ env: process.env, flags: flags as Record<string, string | undefined> });
  const log = createLogger({ level: config.logLevel, format: config.logFormat });
  // Listen for signals before start-up, so a SIGTERM during it still means "drain and exit 0".
  let signalled: (signal: string) => void = () => {};
  const stopRequested = new Promise<string>((resolve) => {
    signalled = resolve;
  });
  process.once("SIGTERM", () => signalled("SIGTERM"));
  process.once("SIGINT", () => signalled("SIGINT"));
  const node = await startNode(config, (workflows as string[] | undefined) ?? [], log);
  const signal = await stopRequested;
  log.info(`received ${signal}: draining`, { graceMs: config.shutdownGraceMs });
  await node.stop().catch((error: unknown) => log.error("shutdown failed", { error: String(error) }));
  return 0;
}
