import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { type Subprocess, spawn } from "bun";

const MAIN = resolve(import.meta.dir, "../../src/main.ts");

export interface NodeProcess {
  readonly proc: Subprocess<"ignore", "pipe", "pipe">;
  readonly adminPort: number;
  readonly grpcPort: number | null;
  /** Every log line the node wrote so far (JSON objects). */
  readonly logs: Record<string, unknown>[];
  kill(signal?: NodeJS.Signals): void;
  /** Resolves with the exit code. */
  readonly exited: Promise<number>;
}

export interface SpawnNodeOptions {
  databaseUrl?: string;
  dataDir?: string;
  workflows?: string[];
  env?: Record<string, string>;
  args?: string[];
}

/**
 * Starts `kronos serve` as a real child process on free ports and resolves once it logs that it
 * is ready. Crash tests kill it; shutdown tests send SIGTERM and read its exit code.
 */
export async function spawnNode(o: SpawnNodeOptions = {}): Promise<NodeProcess> {
  const args = [
    process.execPath,
    MAIN,
    "serve",
    "--admin-addr",
    "127.0.0.1:0",
    "--grpc-addr",
    "127.0.0.1:0",
    "--metrics-addr",
    "off",
    ...(o.workflows ?? []).flatMap((w) => ["--workflows", w]),
    ...(o.args ?? []),
  ];
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    KRONOS_LOG_LEVEL: "info",
    KRONOS_LOG_FORMAT: "json",
    ...o.env,
  };
  delete env.DATABASE_URL;
  if (o.databaseUrl) env.DATABASE_URL = o.databaseUrl;
  else env.KRONOS_DATA_DIR = o.dataDir ?? join(mkdtempSync(join(tmpdir(), "kronos-node-")), "data");
  const proc = spawn(args, { env, stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  const logs: Record<string, unknown>[] = [];
  let onReady: (line: Record<string, unknown>) => void = () => {};
  const ready = new Promise<Record<string, unknown>>((r) => {
    onReady = r;
  });
  const tail: string[] = [];
  void (async () => {
    const decoder = new TextDecoder();
    let buffer = "";
    for await (const chunk of proc.stderr) {
      buffer += decoder.decode(chunk, { stream: true });
      let nl = buffer.indexOf("\n");
      while (nl >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        tail.push(line);
        if (tail.length > 50) tail.shift();
        try {
          const parsed = JSON.parse(line) as Record<string, unknown>;
          logs.push(parsed);
          if (parsed.msg === "kronos is ready") onReady(parsed);
        } catch {
          // not JSON (a crash trace): kept in tail for the error message
        }
        nl = buffer.indexOf("\n");
      }
    }
  })();
  const exited = proc.exited;
  const first = await Promise.race([ready, exited.then((code) => ({ exitedEarly: code }))]);
  if ("exitedEarly" in first) {
    throw new Error(`kronos serve exited with ${first.exitedEarly} before it was ready:\n${tail.join("\n")}`);
  }
  const adminPort = Number(new URL(String(first.admin)).port);
  return {
    proc,
    adminPort,
    grpcPort: typeof first.grpc === "number" ? first.grpc : null,
    logs,
    kill: (signal = "SIGKILL") => proc.kill(signal),
    exited,
  };
}
