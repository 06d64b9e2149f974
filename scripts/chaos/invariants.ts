// What must hold after any chaos scenario, read from the database (read-only queries) and from the
// fixtures' invocation records: no run lost or stuck, every step completion recorded exactly once
// and agreeing with the steps table, gapless event logs, right outputs; and how often steps ran.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type Database, sql } from "../../src/db/index.ts";
import { expectedOutput, STEPS } from "./fixtures/pipeline-logic.ts";

export interface RunAudit {
  /** Runs the scenario meant to start (idempotency keys it asked for). */
  expected: number;
  /** Keys with no run in the database. */
  lost: number;
  completed: number;
  /** Runs not completed when the scenario gave up waiting. */
  stuck: number;
  /** (run, step) pairs with more than one step_completed event. */
  doubleCompletions: number;
  /** (run, step) pairs of completed runs with no step_completed event. */
  missingCompletions: number;
  /** Step rows whose status or output disagrees with their step_completed event. */
  stepsDisagree: number;
  /** Runs without exactly one terminal event, or whose run_completed is not the last event. */
  badTerminal: number;
  /** Runs whose event seq is not 1..n. */
  seqGaps: number;
  /** (run, step) pairs scheduled more than once (two jobs for one step). */
  doubleJobs: number;
  /** Step jobs of completed runs still in the job table (each goes with its completion). */
  unfinishedJobs: number;
  /** Completed runs whose output is not what the pipeline computes from their input. */
  wrongOutputs: number;
  /** One line per problem kind with a few examples, for the report. */
  problems: string[];
}

const sample = (rows: unknown[], n = 3) =>
  rows
    .slice(0, n)
    .map((r) => JSON.stringify(r))
    .join("; ");

/**
 * Audits the runs started under `keys` (idempotency keys) against every invariant above.
 * `stepsPerRun` is the number of steps each run must have completed.
 */
export async function auditRuns(db: Database, keys: readonly string[]): Promise<RunAudit> {
  const problems: string[] = [];
  const note = (what: string, rows: unknown[]) => {
    if (rows.length > 0) problems.push(`${what}: ${rows.length} (e.g. ${sample(rows)})`);
    return rows.length;
  };
  const runs = await db.query<{ id: string; key: string; status: string }>(sql`
    SELECT id, idempotency_key AS key, status FROM kronos_runs WHERE idempotency_key = ANY(${keys as string[]}::text[])`);
  const ids = runs.map((r) => r.id);
  const found = new Set(runs.map((r) => r.key));
  const lost = note(
    "lost runs (no row for the key)",
    keys.filter((k) => !found.has(k)),
  );
  const stuck = note(
    "runs not completed",
    runs.filter((r) => r.status !== "completed").map((r) => ({ id: r.id, status: r.status })),
  );
  const doubles = await db.query(sql`
    SELECT run_id, step, count(*)::int AS n FROM kronos_events
    WHERE run_id = ANY(${ids}::uuid[]) AND type = 'step_completed'
    GROUP BY run_id, step HAVING count(*) > 1`);
  const missing = await db.query(sql`
    SELECT r.id, s.name FROM kronos_runs r CROSS JOIN unnest(${[...STEPS]}::text[]) AS s(name)
    WHERE r.id = ANY(${ids}::uuid[]) AND r.status = 'completed'
      AND NOT EXISTS (SELECT 1 FROM kronos_events e WHERE e.run_id = r.id AND e.step = s.name AND e.type = 'step_completed')`);
  const disagree = await db.query(sql`
    SELECT s.run_id, s.name, s.status FROM kronos_steps s
    JOIN kronos_runs r ON r.id = s.run_id AND r.status = 'completed'
    LEFT JOIN kronos_events e ON e.run_id = s.run_id AND e.step = s.name AND e.type = 'step_completed'
    WHERE s.run_id = ANY(${ids}::uuid[])
      AND (s.status <> 'completed' OR e.seq IS NULL OR e.data->>'outputHash' IS DISTINCT FROM s.output_hash)`);
  const terminal = await db.query(sql`
    SELECT r.id, r.status, count(e.seq) FILTER (WHERE e.type IN ('run_completed', 'run_failed', 'run_cancelled'))::int AS terminals,
           max(e.seq) FILTER (WHERE e.type = 'run_completed') AS completed_at, max(e.seq) AS last
    FROM kronos_runs r LEFT JOIN kronos_events e ON e.run_id = r.id
    WHERE r.id = ANY(${ids}::uuid[]) AND r.status <> 'running'
    GROUP BY r.id, r.status
    HAVING count(e.seq) FILTER (WHERE e.type IN ('run_completed', 'run_failed', 'run_cancelled')) <> 1
        OR (r.status = 'completed' AND max(e.seq) FILTER (WHERE e.type = 'run_completed') IS DISTINCT FROM max(e.seq))`);
  const gaps = await db.query(sql`
    SELECT r.id, count(e.seq)::int AS n, min(e.seq) AS first, max(e.seq) AS last
    FROM kronos_runs r LEFT JOIN kronos_events e ON e.run_id = r.id
    WHERE r.id = ANY(${ids}::uuid[])
    GROUP BY r.id
    HAVING count(e.seq) = 0 OR min(e.seq) <> 1 OR max(e.seq) <> count(e.seq)`);
  const doubleJobs = note(
    "steps scheduled more than once",
    await db.query(sql`
      SELECT run_id, step, count(*)::int AS n FROM kronos_events
      WHERE run_id = ANY(${ids}::uuid[]) AND type = 'step_scheduled'
      GROUP BY run_id, step HAVING count(*) > 1`),
  );
  // A completed step's job row is deleted with its completion: a completed run leaves none.
  const unfinishedJobs = note(
    "step jobs left behind by completed runs",
    await db.query(sql`
      SELECT j.id, payload->>'runId' AS "runId", payload->>'step' AS step, j.state FROM kronos_jobs j
      JOIN kronos_runs r ON r.id::text = j.payload->>'runId' AND r.status = 'completed'
      WHERE j.type = 'kronos.workflow_step' AND j.payload->>'runId' = ANY(${ids}::text[])`),
  );
  const outputs = await db.query<{ id: string; input: unknown; output: unknown }>(sql`
    SELECT r.id, bi.data AS input, bo.data AS output FROM kronos_runs r
    JOIN kronos_blobs bi ON bi.hash = r.input_hash LEFT JOIN kronos_blobs bo ON bo.hash = r.output_hash
    WHERE r.id = ANY(${ids}::uuid[]) AND r.status = 'completed'`);
  const wrong = outputs.filter((o) => JSON.stringify(o.output) !== JSON.stringify(expectedOutput(o.input as never)));
  return {
    expected: keys.length,
    lost,
    completed: runs.filter((r) => r.status === "completed").length,
    stuck,
    doubleCompletions: note("steps with more than one step_completed event", doubles),
    missingCompletions: note("steps of completed runs with no step_completed event", missing),
    stepsDisagree: note("step rows disagreeing with their step_completed event", disagree),
    badTerminal: note("runs without exactly one terminal event last", terminal),
    seqGaps: note("runs whose event seq has gaps", gaps),
    doubleJobs,
    unfinishedJobs,
    wrongOutputs: note(
      "completed runs with a wrong output",
      wrong.map((w) => w.id),
    ),
    problems,
  };
}

/** Counts of runs by status among `keys` (progress while a scenario waits). */
export async function runStatusCounts(db: Database, keys: readonly string[]): Promise<Record<string, number>> {
  const rows = await db.query<{ status: string; n: number }>(sql`
    SELECT status, count(*)::int AS n FROM kronos_runs WHERE idempotency_key = ANY(${keys as string[]}::text[])
    GROUP BY status`);
  return Object.fromEntries(rows.map((r) => [r.status, r.n]));
}

export interface Invocations {
  /** Calls per "runId step" (steps) or per job id (ticks). */
  perStep: Map<string, number>;
  perTick: Map<string, number>;
  /** Lines cut short by a SIGKILL mid-write. */
  partial: number;
}

/** Reads every record file the fixtures wrote under `dir`. */
export function readInvocations(dir: string): Invocations {
  const perStep = new Map<string, number>();
  const perTick = new Map<string, number>();
  let partial = 0;
  for (const file of readdirSync(dir).filter((f) => f.endsWith(".log"))) {
    const text = readFileSync(join(dir, file), "utf8");
    const lines = text.split("\n");
    if (lines.at(-1) === "") lines.pop();
    else if (lines.length > 0) {
      lines.pop();
      partial++;
    }
    for (const line of lines) {
      const f = line.split(" ");
      if (f[0] === "step" && f.length === 5) {
        const k = `${f[1]} ${f[2]}`;
        perStep.set(k, (perStep.get(k) ?? 0) + 1);
      } else if (f[0] === "tick" && f.length === 4) {
        perTick.set(f[1] as string, (perTick.get(f[1] as string) ?? 0) + 1);
      } else partial++;
    }
  }
  return { perStep, perTick, partial };
}

/** How many (run, step) pairs ran once, twice, more; for the runs in `runIds`. */
export function invocationHistogram(
  inv: Invocations,
  runIds: Iterable<string>,
): { once: number; twice: number; more: number; never: number; calls: number; maxCalls: number } {
  const h = { once: 0, twice: 0, more: 0, never: 0, calls: 0, maxCalls: 0 };
  for (const id of runIds) {
    for (const step of STEPS) {
      const n = inv.perStep.get(`${id} ${step}`) ?? 0;
      h.calls += n;
      h.maxCalls = Math.max(h.maxCalls, n);
      if (n === 0) h.never++;
      else if (n === 1) h.once++;
      else if (n === 2) h.twice++;
      else h.more++;
    }
  }
  return h;
}

export interface TableCounts {
  runs: number;
  steps: number;
  events: number;
  jobs: number;
  blobs: number;
}

/** Row counts of every Kronos table. */
export async function tableCounts(db: Database): Promise<TableCounts> {
  const [row] = await db.query<TableCounts>(sql`
    SELECT (SELECT count(*)::int FROM kronos_runs) AS runs, (SELECT count(*)::int FROM kronos_steps) AS steps,
           (SELECT count(*)::int FROM kronos_events) AS events, (SELECT count(*)::int FROM kronos_jobs) AS jobs,
           (SELECT count(*)::int FROM kronos_blobs) AS blobs`);
  return row as TableCounts;
}

/** Why steps of these runs failed an attempt (step_failed events), most common first. */
export async function failureReasons(db: Database, runIds: readonly string[]): Promise<[string, number][]> {
  const rows = await db.query<{ error: string; n: number }>(sql`
    SELECT data->>'error' AS error, count(*)::int AS n FROM kronos_events
    WHERE run_id = ANY(${runIds as string[]}::uuid[]) AND type = 'step_failed'
    GROUP BY 1 ORDER BY 2 DESC`);
  return rows.map((r) => [r.error, r.n]);
}

/** One step's events, compact ("3 step_started a1 job 17"), for failure messages. */
export async function stepHistory(db: Database, runId: string, step: string): Promise<string[]> {
  const rows = await db.query<{ seq: number; type: string; attempt: number | null; data: Record<string, unknown> }>(sql`
    SELECT seq, type, attempt, data FROM kronos_events WHERE run_id = ${runId} AND step = ${step} ORDER BY seq`);
  return rows.map(
    (r) =>
      `${r.seq} ${r.type}${r.attempt === null ? "" : ` a${r.attempt}`}${r.data.jobId ? ` job ${r.data.jobId}` : ""}${r.data.error ? ` (${r.data.error})` : ""}`,
  );
}

/**
 * Half-written rows anywhere in the database: runs without their six step rows or without a
 * gapless event log that opens with run_started, step jobs of runs that do not exist.
 */
export async function halfWritten(db: Database, stepsPerRun: number): Promise<string[]> {
  const problems: string[] = [];
  const note = (what: string, rows: unknown[]) => {
    if (rows.length > 0) problems.push(`${what}: ${rows.length} (e.g. ${sample(rows)})`);
  };
  note(
    "runs without all their step rows",
    await db.query(sql`
      SELECT r.id, count(s.name)::int AS steps FROM kronos_runs r LEFT JOIN kronos_steps s ON s.run_id = r.id
      GROUP BY r.id HAVING count(s.name) <> ${stepsPerRun}`),
  );
  note(
    "runs whose event log has gaps or does not open with run_started",
    await db.query(sql`
      SELECT r.id FROM kronos_runs r LEFT JOIN kronos_events e ON e.run_id = r.id
      GROUP BY r.id
      HAVING count(e.seq) = 0 OR max(e.seq) <> count(e.seq)
          OR bool_or(e.seq = 1 AND e.type = 'run_started') IS NOT TRUE`),
  );
  note(
    "step jobs of runs that do not exist",
    await db.query(sql`
      SELECT j.id FROM kronos_jobs j WHERE j.type = 'kronos.workflow_step'
        AND NOT EXISTS (SELECT 1 FROM kronos_runs r WHERE r.id::text = j.payload->>'runId')`),
  );
  return problems;
}
