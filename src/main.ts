#!/usr/bin/env bun
/**
 * The kronos command line. The only reader of argv: each command parses its own options.
 */
import { UsageError } from "./cli/args.ts";
import { ConfigError } from "./config/index.ts";
import { KronosError } from "./errors.ts";

const commands: Record<string, { summary: string; run(argv: string[]): Promise<number> }> = {
  serve: {
    summary: "run a node: workers, scheduler, API, debugger UI, metrics",
    run: async (a) => (await import("./cli/serve.ts")).serveCommand(a),
  },
  migrate: {
    summary: "apply database migrations",
    run: async (a) => (await import("./cli/migrate.ts")).migrateCommand(a),
  },
  bench: {
    summary: "measure throughput and latency",
    run: async (a) => (await import("./cli/bench.ts")).benchCommand(a),
  },
  replay: {
    summary: "re-execute a recorded run with local code; diffs, --break-at, --fork-from",
    run: async (a) => (await import("./cli/replay.ts")).replayCommand(a),
  },
  export: {
    summary: "write a run as JSON for offline replay",
    run: async (a) => (await import("./cli/export.ts")).exportCommand(a),
  },
  version: {
    summary: "print version, commit and Bun version",
    run: async (a) => (await import("./cli/version.ts")).versionCommand(a),
  },
};

function usage(): string {
  const rows = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`);
  return [
    "kronos: durable workflows on PostgreSQL with a time-travel debugger",
    "",
    "Usage: kronos <command> [options]   (kronos <command> --help for its options)",
    "",
    "Commands:",
    ...rows,
  ].join("\n");
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    console.log(usage());
    return name ? 0 : 2;
  }
  if (name === "--version") return commands.version?.run([]) ?? 0;
  const command = commands[name];
  if (!command) {
    console.error(`kronos: unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  try {
    return await command.run(rest);
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`kronos ${name}: ${error.message} (see kronos ${name} --help)`);
      return 2;
    }
    if (error instanceof ConfigError || error instanceof KronosError) {
      console.error(`kronos ${name}: ${error.message}`);
      return 2;
    }
    throw error;
  }
}

process.exitCode = await main(process.argv.slice(2));
