import { resolve } from "node:path";
import { enqueueCase, latencyCase, noopCase, poolCase } from "../bench/queue.ts";
import { type BenchBackend, BenchDatabases } from "../bench/setup.ts";
import { dag6Case } from "../bench/workflow.ts";
import { loadConfig } from "../config/index.ts";
import { loadWorkflowModules } from "../workflow/loader.ts";
import { type CommandSpec, helpText, parseCommand, UsageError } from "./args.ts";

export const benchSpec: CommandSpec = {
  name: "bench",
  summary: "measure queue and workflow throughput and latency on this machine",
  usage: "kronos bench [queue|workflow|all] [--json] [--backend postgres|pglite|both] [--quick]",
  options: {
    json: { type: "boolean", help: "one JSON line per case on stdout instead of a table" },
    backend: { type: "string", help: "postgres, pglite or both (default both)" },
    quick: { type: "boolean", help: "small counts (a smoke run, not a measurement)" },
    "database-url": { type: "string", help: "PostgreSQL to measure (DATABASE_URL); default: a throwaway local server" },
    "batch-size": { type: "string", help: "claim batch size (default 50)" },
  },
  more:
    "Figures depend on the machine: record them with its description (docs/benchmarks.md).\n" +
    "PostgreSQL runs with its default durability (fsync on) unless DATABASE_URL points elsewhere.",
};

type Row = Record<string, string | number | undefined>;

function printTable(rows: Row[]): void {
  const keys = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const width = keys.map((k) => Math.max(k.length, ...rows.map((r) => String(r[k] ?? "").length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padStart(width[i] as number)).join("  ");
  console.log(line(keys));
  for (const r of rows) console.log(line(keys.map((k) => String(r[k] ?? ""))));
}

export async function benchCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommand(benchSpec, argv);
  if (values.help) {
    console.log(helpText(benchSpec));
    return 0;
  }
  const which = positionals[0] ?? "all";
  if (!["queue", "workflow", "all"].includes(which))
    throw new UsageError(`unknown benchmark "${which}": use queue, workflow or all`);
  const backendArg = (values.backend as string | undefined) ?? "both";
  if (!["postgres", "pglite", "both"].includes(backendArg))
    throw new UsageError(`--backend must be postgres, pglite or both`);
  const backends: BenchBackend[] = backendArg === "both" ? ["postgres", "pglite"] : [backendArg as BenchBackend];
  const batchSize = Number(values["batch-size"] ?? 50);
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new UsageError("--batch-size must be a whole number of at least 1");
  const quick = values.quick === true;
  const config = loadConfig({ flags: { "database-url": values["database-url"] as string | undefined } });
  const dbs = new BenchDatabases(config.databaseUrl);
  const rows: Row[] = [];
  const emit = (r: object) => {
    rows.push(r as Row);
    if (values.json) console.log(JSON.stringify(r));
    else process.stderr.write(`  ${JSON.stringify(r)}\n`);
  };
  try {
    if (!values.json) process.stderr.write(`kronos bench ${which}: ${dbs.describe()}\n`);
    if (which !== "workflow") {
      for (const workers of [10, 50]) emit(await poolCase(workers, quick ? 100_000 : 2_000_000));
      for (const backend of backends) {
        const n = backend === "pglite" ? (quick ? 1_000 : 5_000) : quick ? 2_000 : 20_000;
        for (const workers of [10, 50]) emit(await noopCase(dbs, backend, workers, n, batchSize));
        emit(await enqueueCase(dbs, backend, backend === "pglite" ? 1 : 50, quick ? 1_000 : n));
        emit(await latencyCase(dbs, backend, quick ? 20 : 200));
      }
    }
    if (which !== "queue") {
      const [mod] = await loadWorkflowModules([resolve(import.meta.dir, "../../examples/data-pipeline.ts")]);
      const pipeline = mod?.workflows[0];
      if (!pipeline) throw new Error("examples/data-pipeline.ts exports no workflow");
      for (const backend of backends) {
        const runs = backend === "pglite" ? (quick ? 50 : 500) : quick ? 200 : 2_000;
        emit(
          await dag6Case(dbs, backend, pipeline, {
            workers: 50,
            runs,
            // As many runs again first. After a quarter as many, Bun's JIT thread was still compiling
            // and PostgreSQL's fresh backends still planning and faulting in shared memory during the
            // measured runs (perf); from 2,000 on PostgreSQL the figure stops rising (docs/benchmarks.md).
            warmupRuns: runs,
            latencySamples: quick ? 10 : 100,
            batchSize,
          }),
        );
      }
    }
  } finally {
    dbs.close();
  }
  if (!values.json) printTable(rows);
  return 0;
}
