#!/usr/bin/env bun
/**
 * Measures dist/kronos the way a user meets it: binary size, time from exec to the "kronos is ready"
 * log line (first start on an empty data directory, later starts on an existing one; on PGlite and
 * on a local PostgreSQL), and resident memory once idle. Prints the "## Binary" section of
 * docs/benchmarks.md; `--write` puts it there (other sections are left alone).
 *
 *   bun scripts/measure-binary.ts [--runs 5] [--write]
 *
 * Builds dist/kronos first (cheap when nothing changed). Each start is a fresh process serving
 * examples/data-pipeline.ts from a temp folder, with every listener on a free port.
 */
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { openPostgres, staticSql } from "../src/db/index.ts";
import { startLocalPostgres } from "../src/db/local-server.ts";
import { type NodeProcess, startNodeProcess } from "../tests/smoke/binary-process.ts";
import { buildBinary, ROOT } from "./build.ts";

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: { runs: { type: "string", default: "5" }, write: { type: "boolean", default: false } },
  strict: true,
});
const RUNS = Number(values.runs);
/** How long a node sits idle before its memory is read. */
const IDLE_MS = 5_000;
const BINARY = join(ROOT, "dist/kronos");
const PGLITE_DIST = join(ROOT, "node_modules/@electric-sql/pglite/dist");

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;
const sh = (cmd: string[]) => Bun.spawnSync(cmd, { stdout: "pipe", stderr: "ignore" }).stdout.toString().trim();

function summary(ms: number[]): string {
  const sorted = [...ms].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)] as number;
  const f = (x: number) => `${Math.round(x)}`;
  return sorted.length === 1
    ? `${f(median)} ms`
    : `${f(median)} ms (min ${f(sorted[0] as number)}, max ${f(sorted.at(-1) as number)}, n=${sorted.length})`;
}

function workspace(): string {
  const dir = mkdtempSync(join(tmpdir(), "kronos-measure-"));
  copyFileSync(join(ROOT, "examples/data-pipeline.ts"), join(dir, "data-pipeline.ts"));
  return dir;
}

function start(dir: string, env: Record<string, string> = {}): Promise<NodeProcess> {
  return startNodeProcess({
    cmd: [
      BINARY,
      "serve",
      "--workflows",
      "./data-pipeline.ts",
      "--admin-addr",
      "127.0.0.1:0",
      "--grpc-addr",
      "127.0.0.1:0",
      "--metrics-addr",
      "127.0.0.1:0",
    ],
    cwd: dir,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: dir, ...env },
  });
}

/** Starts and stops a node once per run; `idle` also reads its RSS after IDLE_MS on the last run. */
async function measureStarts(
  runs: number,
  prepare: () => { dir: string; env?: Record<string, string> } | Promise<{ dir: string; env?: Record<string, string> }>,
  idle = false,
) {
  const times: number[] = [];
  let rss: number | undefined;
  for (let i = 0; i < runs; i++) {
    const { dir, env } = await prepare();
    const node = await start(dir, env);
    times.push(node.readyMs);
    // SIGTERM right after the ready line can beat `kronos serve` installing its signal handlers
    // (they are installed after start-up returns); one answered request means they are in place.
    const health = await fetch(`http://127.0.0.1:${node.adminPort}/healthz`);
    if (health.status !== 200) throw new Error(`/healthz answered ${health.status}:\n${node.output()}`);
    if (idle && i === runs - 1) {
      await Bun.sleep(IDLE_MS);
      rss = node.rss();
    }
    const code = await node.stop();
    if (code !== 0) throw new Error(`kronos exited with ${code} on SIGTERM:\n${node.output()}`);
  }
  return { times, rss };
}

/** The 1-minute load average when measuring starts: other work on the machine shows up here. */
const loadAtStart = loadavg()[0] ?? 0;
const build = await buildBinary({ log: (line) => console.error(line) });
const bunRuntime = Bun.file(process.execPath).size;
const embedded = {
  "pglite.wasm": Bun.file(join(PGLITE_DIST, "pglite.wasm")).size,
  "pglite.data": Bun.file(join(PGLITE_DIST, "pglite.data")).size,
  "initdb.wasm": Bun.file(join(PGLITE_DIST, "initdb.wasm")).size,
  "data-dir tarball": Bun.file(join(ROOT, "dist/.build/pgdata.tar.gz")).size,
};

const folders: string[] = [];
const fresh = () => {
  const dir = workspace();
  folders.push(dir);
  return { dir };
};

console.error("PGlite: first starts");
const pgliteFirst = await measureStarts(RUNS, fresh);
console.error("PGlite: later starts");
const reused = fresh();
const pgliteLater = await measureStarts(RUNS, () => reused, true);

console.error("PostgreSQL: starting a local server");
const server = await startLocalPostgres();
let pgFirst: Awaited<ReturnType<typeof measureStarts>>;
let pgLater: Awaited<ReturnType<typeof measureStarts>>;
let pgVersion = "?";
try {
  const admin = openPostgres({ url: server.url, max: 1 });
  const [version] = await admin.query<{ server_version: string }>(staticSql("SHOW server_version"));
  pgVersion = version?.server_version.split(" ")[0] ?? "?";
  let n = 0;
  const newDatabase = async () => {
    const name = `kronos_measure_${n++}`;
    await admin.query(staticSql(`CREATE DATABASE ${name}`));
    return { dir: reused.dir, env: { DATABASE_URL: server.urlFor(name) } };
  };
  console.error("PostgreSQL: first starts (empty database: migrations run)");
  pgFirst = await measureStarts(RUNS, newDatabase);
  console.error("PostgreSQL: later starts");
  const migrated = { dir: reused.dir, env: { DATABASE_URL: server.urlFor("kronos_measure_0") } };
  pgLater = await measureStarts(RUNS, () => migrated, true);
  await admin.close();
} finally {
  server.destroy();
}

console.error("From source, first start (initdb), once for comparison");
const sourceDir = fresh();
const fromSource = await startNodeProcess({
  cmd: [process.execPath, join(ROOT, "src/main.ts"), "serve", "--workflows", "./data-pipeline.ts"].concat(
    ["--admin-addr", "--grpc-addr", "--metrics-addr"].flatMap((flag) => [flag, "127.0.0.1:0"]),
  ),
  cwd: sourceDir.dir,
  env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: sourceDir.dir },
  timeoutMs: 120_000,
});
await fromSource.stop();
for (const dir of folders) rmSync(dir, { recursive: true, force: true });

/** A Markdown table with padded columns (as Biome formats it, so `npm run lint` passes). */
function table(header: string[], rows: string[][]): string {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(3, ...all.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] as number)).join(" | ")} |`;
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

const cpu = readFileSync("/proc/cpuinfo", "utf8").match(/^model name\s*:\s*(.+)$/m)?.[1] ?? "unknown";
const memory = sh(["free", "-h"]).split("\n")[1]?.split(/\s+/)[1] ?? "unknown";
const pgliteParts = Object.entries(embedded).map(([name, bytes]) => `${name} ${mb(bytes)}`);
const section = `## Binary

Measured ${new Date().toISOString().slice(0, 10)} with \`bun scripts/measure-binary.ts --runs ${RUNS}\` on
${availableParallelism()} vCPUs (\`nproc\`), ${cpu}, ${memory} RAM (\`free -h\`), ${sh(["uname", "-sr"])}, Bun ${Bun.version};
commit ${build.commit}. The machine is shared with other work (1-minute load average ${loadAtStart.toFixed(2)} when
this run began), so single runs vary by a few hundred ms.
A start is timed from exec to the \`kronos is ready\` log line (database open and migrated, workflows
loaded, all three listeners up), serving \`examples/data-pipeline.ts\` from an otherwise empty folder.

${table(
  ["File", "Size"],
  [
    [`\`dist/kronos\` (${process.platform}-${process.arch})`, mb(build.bytes)],
    ["of which Bun's runtime", mb(bunRuntime)],
    [`of which PGlite (${pgliteParts.join(", ")})`, mb(Object.values(embedded).reduce((a, b) => a + b, 0))],
  ],
)}

${table(
  ["Start", "Target", "Median (min, max)"],
  [
    ["PGlite, first start (empty data dir, seeded from the embedded tarball)", "< 2 s", summary(pgliteFirst.times)],
    ["PGlite, later start", "< 1.5 s", summary(pgliteLater.times)],
    [`PostgreSQL ${pgVersion} (local), first start on an empty database (migrations run)`, "", summary(pgFirst.times)],
    [`PostgreSQL ${pgVersion} (local), later start`, "< 300 ms", summary(pgLater.times)],
    [
      "For comparison: `bun src/main.ts serve` from source, first start (runs initdb)",
      "",
      summary([fromSource.readyMs]),
    ],
  ],
)}

${table(
  [`Idle RSS, ${IDLE_MS / 1000} s after ready`, "RSS"],
  [
    ["PGlite", mb(pgliteLater.rss ?? 0)],
    ["PostgreSQL", mb(pgLater.rss ?? 0)],
  ],
)}

Most of the PGlite figure is PGlite itself (its WASM heap); Kronos starts it with \`shared_buffers\` of 32 MB
(src/db/pglite.ts) instead of PostgreSQL's default 128 MB, which took idle RSS from about 312 MB to 207 MB.
`;

console.log(section);
if (values.write) {
  const file = join(ROOT, "docs/benchmarks.md");
  const current = existsSync(file) ? readFileSync(file, "utf8") : "# Benchmarks\n";
  const match = current.match(/^## Binary\n[\s\S]*?(?=^## |(?![\s\S]))/m);
  const next = match ? current.replace(match[0], () => `${section}\n`) : `${current.trimEnd()}\n\n${section}`;
  writeFileSync(file, `${next.trimEnd()}\n`);
  console.error(`wrote the "## Binary" section of ${file}`);
}
