import { loadConfig } from "../config/index.ts";
import { migrate, openDatabase } from "../db/index.ts";
import { type CommandSpec, helpText, parseCommand } from "./args.ts";

export const migrateSpec: CommandSpec = {
  name: "migrate",
  summary: "apply database migrations that have not been applied yet",
  usage: "kronos migrate [--database-url URL] [--data-dir DIR]",
  options: {
    "database-url": { type: "string", help: "PostgreSQL URL (DATABASE_URL); default: embedded database" },
    "data-dir": { type: "string", help: "embedded database folder (KRONOS_DATA_DIR), default ./.kronos/data" },
  },
};

export async function migrateCommand(argv: string[]): Promise<number> {
  const { values } = parseCommand(migrateSpec, argv);
  if (values.help) {
    console.log(helpText(migrateSpec));
    return 0;
  }
  const config = loadConfig({ env: process.env, flags: values as Record<string, string | undefined> });
  const db = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: 1 });
  try {
    const result = await migrate(db);
    const where = config.databaseUrl ? "PostgreSQL" : `embedded database in ${config.dataDir}`;
    if (result.applied.length === 0) console.log(`${where}: up to date at migration ${result.current}`);
    else console.log(`${where}: applied ${result.applied.join(", ")}; now at migration ${result.current}`);
    return 0;
  } finally {
    await db.close();
  }
}
