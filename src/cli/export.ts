import { loadConfig } from "../config/index.ts";
import { openDatabase } from "../db/index.ts";
import { recordFromDatabase } from "../replay/record.ts";
import { recordFromServer } from "../replay/remote.ts";
import { type CommandSpec, helpText, parseCommand, UsageError } from "./args.ts";

export const exportSpec: CommandSpec = {
  name: "export",
  summary: "write a run (definition shape, step inputs and outputs, events) as JSON for offline replay",
  usage: "kronos export <run-id> [--server URL | --database-url DSN] > run.json",
  options: {
    server: { type: "string", help: "Kronos API to read the run from (default http://localhost:8080)" },
    "database-url": { type: "string", help: "read the run straight from this database (DATABASE_URL)" },
    token: { type: "string", help: "API token (KRONOS_API_TOKEN)" },
  },
};

export async function exportCommand(argv: string[]): Promise<number> {
  const { values: v, positionals } = parseCommand(exportSpec, argv);
  if (v.help) {
    console.log(helpText(exportSpec));
    return 0;
  }
  const runId = positionals[0];
  if (!runId) throw new UsageError("give the id of the run to export");
  const config = loadConfig({ flags: { "database-url": v["database-url"] as string | undefined } });
  let record: Awaited<ReturnType<typeof recordFromDatabase>>;
  if (config.databaseUrl && !v.server) {
    const db = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: 2 });
    try {
      record = await recordFromDatabase(db, runId);
    } finally {
      await db.close();
    }
  } else {
    record = await recordFromServer(
      (v.server as string | undefined) ?? "http://localhost:8080",
      runId,
      (v.token as string | undefined) ?? config.apiToken,
    );
  }
  process.stdout.write(`${JSON.stringify(record, null, 2)}\n`);
  return 0;
}
