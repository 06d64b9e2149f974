import { spawnSync } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * A throwaway PostgreSQL server in a temp directory, for tests, benchmarks and chaos runs.
 * initdb refuses to run as root, so as root the server runs as the `postgres` user.
 */
export interface LocalPostgres {
  /** URL of the `postgres` database as superuser. */
  readonly url: string;
  readonly port: number;
  readonly dataDir: string;
  /** Database URL for another database on the same server. */
  urlFor(database: string): string;
  /** Stops the server (`mode` as for pg_ctl stop); `start` brings it back on the same port. */
  stop(mode?: "fast" | "immediate"): void;
  start(): void;
  /** Stops the server and removes its files. */
  destroy(): void;
}

function findBinDir(): string {
  const onPath = spawnSync("sh", ["-c", "command -v initdb"], { encoding: "utf8" }).stdout.trim();
  if (onPath) return onPath.replace(/\/initdb$/, "");
  const root = "/usr/lib/postgresql";
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  for (const v of versions) {
    if (existsSync(join(root, v, "bin", "initdb"))) return join(root, v, "bin");
  }
  throw new Error(
    "PostgreSQL binaries not found: put initdb and pg_ctl on PATH or install postgresql (apt-get install postgresql)",
  );
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Starts a fresh server on a free port; about 2–3 s here. */
export async function startLocalPostgres(
  options: { maxConnections?: number /** keep fsync and synchronous commit on (benchmarks) */; durable?: boolean } = {},
): Promise<LocalPostgres> {
  const bin = findBinDir();
  const asRoot = process.getuid?.() === 0;
  const base = mkdtempSync(join(tmpdir(), "kronos-pg-"));
  const dataDir = join(base, "data");
  const socketDir = base;
  chmodSync(base, 0o755);
  const run = (cmd: string, args: string[]) => {
    const full = asRoot ? ["runuser", ["-u", "postgres", "--", join(bin, cmd), ...args]] : [join(bin, cmd), args];
    const result = spawnSync(full[0] as string, full[1] as string[], { encoding: "utf8" });
    if (result.status !== 0) {
      throw new Error(`${cmd} failed (exit ${result.status}): ${result.stderr || result.stdout}`);
    }
  };
  if (asRoot) {
    const id = spawnSync("id", ["-u", "postgres"], { encoding: "utf8" });
    const gid = spawnSync("id", ["-g", "postgres"], { encoding: "utf8" });
    if (id.status !== 0) throw new Error("running as root needs a 'postgres' user to own the test server");
    chownSync(base, Number(id.stdout.trim()), Number(gid.stdout.trim()));
  }
  run("initdb", ["-D", dataDir, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8", "--no-locale"]);
  const port = await freePort();
  const settings = [
    `-p ${port}`,
    "-c listen_addresses=127.0.0.1",
    `-c unix_socket_directories=${socketDir}`,
    ...(options.durable ? [] : ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]),
    `-c max_connections=${options.maxConnections ?? 300}`,
    "-c shared_buffers=256MB",
  ].join(" ");
  const start = () =>
    run("pg_ctl", ["-D", dataDir, "-o", settings, "-l", join(base, "log"), "-w", "-t", "60", "start"]);
  const stop = (mode: "fast" | "immediate" = "fast") => run("pg_ctl", ["-D", dataDir, "-m", mode, "-w", "stop"]);
  start();
  let alive = true;
  const urlFor = (database: string) => `postgres://postgres@127.0.0.1:${port}/${database}`;
  return {
    url: urlFor("postgres"),
    port,
    dataDir,
    urlFor,
    stop: (mode) => {
      stop(mode);
      alive = false;
    },
    start: () => {
      start();
      alive = true;
    },
    destroy: () => {
      if (alive) {
        try {
          stop("immediate");
        } catch {
          // already down
        }
        alive = false;
      }
      rmSync(base, { recursive: true, force: true });
    },
  };
}
