import { existsSync } from "node:fs";
import { loadConfig } from "../config/index.ts";
import { openDatabase } from "../db/index.ts";
import { announceBreak, inspectorUrl, relaunchWithInspector } from "../replay/inspector.ts";
import { formatDiff } from "../replay/json-diff.ts";
import { type RunRecord, recordFromDatabase, recordFromFile } from "../replay/record.ts";
import { recordFromServer, submitFork } from "../replay/remote.ts";
import { compareShapes, replay, type StepResult } from "../replay/replayer.ts";
import { loadWorkflowModules } from "../workflow/loader.ts";
import { WorkflowRegistry } from "../workflow/registry.ts";
import { type CommandSpec, helpText, parseCommand, UsageError } from "./args.ts";

export const replaySpec: CommandSpec = {
  name: "replay",
  summary: "re-execute a recorded run with local code and compare every step's output",
  usage:
    "kronos replay <run-id> [--server URL | --database-url DSN] --workflows FILE... [options]\n       kronos replay --file run.json --workflows FILE... [options]",
  options: {
    workflows: {
      type: "string",
      multiple: true,
      short: "w",
      help: "workflow file or folder with the local code (repeatable)",
    },
    server: { type: "string", help: "Kronos API to read the run from (default http://localhost:8080)" },
    "database-url": { type: "string", help: "read the run straight from this database (DATABASE_URL)" },
    file: { type: "string", help: "replay a run exported with `kronos export`, offline" },
    token: { type: "string", help: "API token (KRONOS_API_TOKEN)" },
    diff: { type: "boolean", help: "print each differing path" },
    json: { type: "boolean", help: "machine-readable results on stdout" },
    "fork-from": {
      type: "string",
      help: "keep recorded outputs upstream of STEP; run STEP and everything after it locally",
    },
    submit: { type: "boolean", help: "with --fork-from: also create that fork on the server as a real run" },
    "break-at": { type: "string", help: "pause before STEP runs with Bun's inspector open, for an IDE debugger" },
    "wait-for-debugger": { type: "boolean", help: "with --break-at: wait for a debugger to attach instead of Enter" },
    "inspect-port": { type: "string", help: "inspector port for --break-at (default 6499)" },
  },
  more:
    "Exit code: 0 when every step matches, 1 on any difference or error, 2 on bad usage.\n" +
    "Nothing is written anywhere (except with --submit).",
};

type Values = Record<string, string | boolean | (string | boolean)[] | undefined>;

async function loadRecord(runId: string | undefined, v: Values, token: string | undefined): Promise<RunRecord> {
  if (v.file) return recordFromFile(v.file as string);
  if (!runId) throw new UsageError("give a run id, or --file");
  const config = loadConfig({ flags: { "database-url": v["database-url"] as string | undefined } });
  if (config.databaseUrl && !v.server) {
    const db = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: 2 });
    try {
      return await recordFromDatabase(db, runId);
    } finally {
      await db.close();
    }
  }
  return recordFromServer((v.server as string | undefined) ?? "http://localhost:8080", runId, token);
}

function line(r: StepResult, width: number): string {
  const verdict = r.verdict.padEnd(7);
  const timing =
    r.verdict === "REUSED" || r.verdict === "SKIPPED"
      ? ""
      : ` (${r.durationMs.toFixed(1)}ms, diff: ${r.diffBytes} bytes)`;
  return `[replay] step ${r.index}/${r.total}: ${r.step.padEnd(width)} ${verdict}${timing}${r.note ? ` ${r.note}` : ""}`;
}

export async function replayCommand(argv: string[]): Promise<number> {
  const { values: v, positionals } = parseCommand(replaySpec, argv);
  if (v.help) {
    console.log(helpText(replaySpec));
    return 0;
  }
  const breakAt = v["break-at"] as string | undefined;
  const port = Number(v["inspect-port"] ?? 6499);
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new UsageError(`--inspect-port must be a port number (got ${v["inspect-port"]})`);
  if (v.submit && !v["fork-from"]) throw new UsageError("--submit needs --fork-from STEP");
  if (v["wait-for-debugger"] && !breakAt) throw new UsageError("--wait-for-debugger needs --break-at STEP");
  const workflowPaths = (v.workflows as string[] | undefined) ?? (existsSync("workflows") ? ["workflows"] : []);
  if (workflowPaths.length === 0)
    throw new UsageError("give the local code with --workflows FILE (or keep it in ./workflows)");
  if (breakAt && !inspectorUrl()) {
    return relaunchWithInspector({ host: "127.0.0.1", port, wait: v["wait-for-debugger"] === true });
  }
  const token = (v.token as string | undefined) ?? loadConfig().apiToken;
  const say = (text: string) => (v.json ? process.stderr.write(`${text}\n`) : console.log(text));
  const record = await loadRecord(positionals[0], v, token);
  const registry = new WorkflowRegistry();
  for (const m of await loadWorkflowModules(workflowPaths)) for (const wf of m.workflows) registry.add(wf);
  const def =
    registry.get(record.run.workflowName, record.run.workflowVersion) ?? registry.latest(record.run.workflowName);
  if (!def) {
    say(`[replay] no local definition of workflow "${record.run.workflowName}" in ${workflowPaths.join(", ")}`);
    return 1;
  }
  say(
    `[replay] run ${record.run.id} (workflow: ${record.run.workflowName} ${record.run.workflowVersion}, ${record.run.status})`,
  );
  say(`[replay] fetched ${record.events.length} events; local code: ${def.name} ${def.version}`);
  const shapes = compareShapes(record, def);
  for (const w of shapes.warnings) say(`[replay] warning: ${w}`);
  if (shapes.errors.length > 0) {
    for (const e of shapes.errors) say(`[replay] refused: ${e}`);
    return 1;
  }
  const forkFrom = v["fork-from"] as string | undefined;
  for (const s of [forkFrom, breakAt]) {
    if (s && !def.steps.has(s))
      throw new UsageError(`workflow "${def.name}" has no step "${s}" (steps: ${def.dag.order.join(", ")})`);
  }
  const width = Math.max(...def.dag.order.map((s) => s.length));
  const results = await replay(record, def, {
    forkFrom,
    pauseAt: breakAt,
    beforeStep: async (step) => {
      if (step === breakAt) await announceBreak(step, { waitForEnter: v["wait-for-debugger"] !== true, write: say });
    },
    onStep: (r) => {
      say(line(r, width));
      if (v.diff) for (const d of formatDiff(r.diff)) say(`           ${d}`);
    },
  });
  const differ = results.filter((r) => r.verdict === "DIFF").length;
  const errored = results.filter((r) => r.verdict === "ERROR").length;
  const failed = differ + errored;
  say(
    `[replay] ${failed === 0 ? "all steps match production" : `${differ} step(s) differ from production, ${errored} threw`}`,
  );
  if (v.json) {
    console.log(
      JSON.stringify({
        runId: record.run.id,
        workflow: def.name,
        version: def.version,
        ok: failed === 0,
        steps: results,
      }),
    );
  }
  if (v.submit && forkFrom) {
    const forkId = await submitFork(
      (v.server as string | undefined) ?? "http://localhost:8080",
      record.run.id,
      forkFrom,
      token,
    );
    say(`[replay] submitted fork ${forkId} from step "${forkFrom}"`);
  }
  return failed === 0 ? 0 : 1;
}
