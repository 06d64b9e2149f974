// Shared by the API tests: run the real command-line clients (buf curl, curl) without blocking the
// event loop (the server may live in this process), and call Connect endpoints with raw JSON.
import { join } from "node:path";
import { HealthState } from "../../src/api/health.ts";
import { type RunningServers, startServers } from "../../src/api/servers.ts";
import { loadConfig } from "../../src/config/index.ts";
import type { Kronos } from "../../src/kronos.ts";
import type { Logger } from "../../src/log.ts";
import { MetricsRegistry } from "../../src/metrics/index.ts";

export const ROOT = join(import.meta.dir, "../..");
export const BUF = join(ROOT, "node_modules/.bin/buf");
export const EXAMPLES = join(ROOT, "examples");
/** The buf module with kronos.proto, for `buf curl --schema` where reflection cannot run. */
export const PROTO = join(ROOT, "proto");
/** A token long enough for KRONOS_API_TOKEN (16+ characters). */
export const TOKEN = "test-token-0123456789abcdef";

export interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion, asynchronously. */
export async function run(args: string[]): Promise<Ran> {
  const child = Bun.spawn(args, { stdout: "pipe", stderr: "pipe", cwd: ROOT });
  const [stdout, stderr, code] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ]);
  return { code, stdout, stderr };
}

/**
 * `buf curl` over `protocol`. gRPC goes to the h2c port with --http2-prior-knowledge and learns
 * the schema by reflection; gRPC-web and Connect go to the admin port (HTTP/1.1, where
 * reflection's bidirectional stream cannot run) and read the schema from proto/.
 */
export function bufCurl(protocol: "grpc" | "grpcweb" | "connect", url: string, ...args: string[]): Promise<Ran> {
  const transport = protocol === "grpc" ? ["--http2-prior-knowledge"] : [];
  const schema = protocol === "grpc" || args.includes("--schema") ? [] : ["--schema", PROTO];
  return run([BUF, "curl", "--protocol", protocol, ...transport, ...schema, "--timeout", "20s", ...args, url]);
}

/** buf curl prints each message of a stream as its own pretty-printed JSON object. */
export function parseMessages(stdout: string): Record<string, unknown>[] {
  const text = stdout.trim();
  if (text === "") return [];
  return JSON.parse(`[${text.replace(/\n}\n{/g, "\n},\n{")}]`);
}

/** A Connect unary call with a raw body, as curl would make it. */
export async function postJson(
  url: string,
  body: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body,
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

/** The API of `kronos` in this process on free local ports (no metrics listener), serving. */
export function serveOnFreePorts(kronos: Kronos, log: Logger): Promise<RunningServers> {
  const config = loadConfig({
    env: {},
    flags: { "admin-addr": "127.0.0.1:0", "grpc-addr": "127.0.0.1:0", "metrics-addr": "off" },
  });
  return startServers({ kronos, config, health: new HealthState("SERVING"), metrics: new MetricsRegistry(), log });
}
