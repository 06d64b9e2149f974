/**
 * Smoke test of the one executable, the way a user meets it: dist/kronos copied alone into an empty
 * folder (no node_modules, nothing installed), run as an unprivileged user that owns only that
 * folder, serving a workflow file that imports "kronos". A run is started and watched over gRPC
 * with `buf curl --reflect` (so the binary's embedded descriptors answer too), replayed with
 * `kronos replay`, and the node must exit 0 on SIGTERM within its grace period. Once on the embedded
 * database, once on PostgreSQL.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  chmodSync,
  chownSync,
  copyFileSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../../src/db/local-server.ts";
import { createPostgresDatabase, type TestDatabase } from "../support/postgres.ts";
import { type NodeProcess, startNodeProcess } from "./binary-process.ts";

const ROOT = join(import.meta.dir, "../..");
const BINARY = join(ROOT, "dist/kronos");
const BUF = join(ROOT, "node_modules/.bin/buf");
const GRACE_MS = 5_000;

/** What the binary is built from: a change to any of these after dist/kronos was built rebuilds it. */
const BUILD_INPUTS = [
  "src",
  "ui",
  "migrations",
  "scripts/build.ts",
  "scripts/build-ui.ts",
  "package.json",
  "package-lock.json",
  "tsconfig.json",
  "node_modules/@electric-sql/pglite/package.json",
];

/**
 * Whether `kronos serve` serves the debugger UI: src/debugger exists and something outside it mounts
 * it (`mountDebugger`). Until the UI is wired in, /debugger/ must be a 404 and the test checks that
 * instead, so it needs no change when the UI arrives; from then on /debugger/ must answer 200 from
 * the binary, which only works if the binary carries the UI bundle.
 */
const UI_PRESENT = existsSync(join(ROOT, "src/debugger")) && mentions(join(ROOT, "src"), "mountDebugger(");

function mentions(path: string, text: string): boolean {
  if (path.endsWith("/src/debugger")) return false;
  if (statSync(path).isDirectory()) return readdirSync(path).some((f) => mentions(join(path, f), text));
  return path.endsWith(".ts") && readFileSync(path, "utf8").includes(text);
}

const WORKFLOW_FILE = `import { workflow } from "kronos";

export const greeting = workflow<{ name: string }>("smoke-greeting", "v1")
  .step("greet", (input) => ({ text: \`hello \${input.name}\` }))
  .step("count", (greet) => ({ length: greet.text.length }), { after: ["greet"] })
  .step("shout", (greet) => ({ text: greet.text.toUpperCase() }), { after: ["greet"] })
  .step("summary", ({ count, shout }) => ({ summary: \`\${shout.text} (\${count.length})\` }), {
    after: ["count", "shout"],
  });
`;

/** Newest modification time (ms) of a file or of anything below a folder, folders included. */
function newestMtime(path: string): number {
  if (!existsSync(path)) return 0;
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, entry)));
  return newest;
}

/** Builds dist/kronos unless it is newer than everything it is built from. */
async function ensureBinary(): Promise<void> {
  const inputs = Math.max(...BUILD_INPUTS.map((p) => newestMtime(join(ROOT, p))));
  if (existsSync(BINARY) && statSync(BINARY).mtimeMs > inputs) return;
  const build = Bun.spawn([process.execPath, join(ROOT, "scripts/build.ts")], {
    cwd: ROOT,
    stdout: "pipe",
    stderr: "pipe",
  });
  const [code, out, err] = await Promise.all([
    build.exited,
    new Response(build.stdout).text(),
    new Response(build.stderr).text(),
  ]);
  if (code !== 0) throw new Error(`npm run build failed (exit ${code}):\n${out}${err}`);
}

async function run(cmd: string[], cwd: string, env: Record<string, string>) {
  const proc = Bun.spawn(cmd, { cwd, env, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const [code, stdout, stderr] = await Promise.all([
    proc.exited,
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
  ]);
  return { code, stdout, stderr };
}

/** One unary or server-streaming call over gRPC (h2c) with buf curl and server reflection. */
async function grpc(port: number, method: string, body: unknown): Promise<string> {
  const url = `http://127.0.0.1:${port}/kronos.v1.KronosService/${method}`;
  const args = ["curl", "--protocol", "grpc", "--http2-prior-knowledge", "--reflect", "--timeout", "20s"];
  const result = await run([BUF, ...args, "-d", JSON.stringify(body), url], ROOT, { PATH: process.env.PATH ?? "" });
  if (result.code !== 0) throw new Error(`buf curl ${method} failed (exit ${result.code}): ${result.stderr}`);
  return result.stdout;
}

let dir: string;
let env: Record<string, string>;
/**
 * How the binary is started. As root: in a mount namespace where the checkout (node_modules and
 * all) is hidden under an empty tmpfs, so a path into it baked into the binary fails here, and as
 * `nobody`. unshare, sh and setpriv each exec the next, so the process, its signals and its exit
 * code are kronos's own.
 */
let launcher: string[] = [];

beforeAll(async () => {
  await ensureBinary();
  dir = mkdtempSync(join(tmpdir(), "kronos-smoke-"));
  copyFileSync(BINARY, join(dir, "kronos"));
  chmodSync(join(dir, "kronos"), 0o755);
  writeFileSync(join(dir, "my-workflows.ts"), WORKFLOW_FILE);
  env = { PATH: "/usr/bin:/bin", HOME: dir, LANG: "C.UTF-8" };
  if (process.getuid?.() === 0) {
    // Hiding needs a mount namespace (CAP_SYS_ADMIN); where a container forbids it, only the user changes.
    const hide = ["unshare", "--mount", "--", "sh", "-c", 'mount -t tmpfs tmpfs "$0" && exec "$@"', ROOT];
    const canHide = !dir.startsWith(`${ROOT}/`) && (await run([...hide, "true"], dir, env)).code === 0;
    launcher = [...(canHide ? hide : []), "setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"];
    for (const f of [dir, join(dir, "kronos"), join(dir, "my-workflows.ts")]) chownSync(f, 65534, 65534);
  }
}, 120_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function startBinary(extraEnv: Record<string, string> = {}): Promise<NodeProcess> {
  const [admin, grpcPort, metrics] = [await freePort(), await freePort(), await freePort()];
  return startNodeProcess({
    cmd: [
      ...launcher,
      "./kronos",
      "serve",
      "--workflows",
      "./my-workflows.ts",
      "--admin-addr",
      `127.0.0.1:${admin}`,
      "--grpc-addr",
      `127.0.0.1:${grpcPort}`,
      "--metrics-addr",
      `127.0.0.1:${metrics}`,
      "--shutdown-grace",
      `${GRACE_MS}ms`,
    ],
    cwd: dir,
    env: { ...env, ...extraEnv },
  });
}

/** Starts a run over gRPC, follows its events to the end, checks its output, and returns its id. */
async function runWorkflow(node: NodeProcess) {
  const port = node.ready.grpc;
  if (!port) throw new Error(`the node reported no gRPC port:\n${node.output()}`);
  const started = JSON.parse(
    await grpc(port, "StartWorkflow", { workflowName: "smoke-greeting", input: { name: "smoke" } }),
  ) as { run: { id: string } };
  const runId = started.run.id;
  // The stream ends after the run's final event.
  const events = await grpc(port, "StreamRunEvents", { runId });
  expect(events).toContain(`"type": "EVENT_TYPE_RUN_COMPLETED"`);
  const got = JSON.parse(await grpc(port, "GetRun", { runId })) as {
    run: { status: string; output: unknown };
    steps: { name: string; status: string }[];
  };
  expect({
    status: got.run.status,
    output: got.run.output,
    steps: Object.fromEntries(got.steps.map((s) => [s.name, s.status])),
  }).toEqual({
    status: "RUN_STATUS_COMPLETED",
    output: { summary: "HELLO SMOKE (11)" },
    steps: {
      greet: "STEP_STATUS_COMPLETED",
      count: "STEP_STATUS_COMPLETED",
      shout: "STEP_STATUS_COMPLETED",
      summary: "STEP_STATUS_COMPLETED",
    },
  });
  return runId;
}

async function checkHttp(node: NodeProcess) {
  const base = `http://127.0.0.1:${node.adminPort}`;
  expect((await fetch(`${base}/healthz`)).status).toBe(200);
  expect((await fetch(`http://127.0.0.1:${node.ready.metrics}/metrics`)).status).toBe(200);
  const ui = await fetch(`${base}/debugger/`);
  const html = await ui.text();
  expect(ui.status).toBe(UI_PRESENT ? 200 : 404);
  if (!UI_PRESENT) return;
  // The page's script and stylesheet come from the bundle inside the binary.
  const assets = [...html.matchAll(/(?:src|href)="(\/debugger\/[^"]+)"/g)].map((m) => m[1] as string);
  expect(assets.length).toBeGreaterThanOrEqual(2);
  for (const path of assets) {
    const response = await fetch(`${base}${path}`);
    await response.arrayBuffer();
    expect({ path, status: response.status }).toEqual({ path, status: 200 });
  }
}

async function stopWithinGrace(node: NodeProcess) {
  const started = performance.now();
  const code = await node.stop(GRACE_MS);
  expect({ code, withinGrace: performance.now() - started < GRACE_MS }).toEqual({ code: 0, withinGrace: true });
}

describe("the compiled binary (dist/kronos), alone in an empty folder", () => {
  test("prints its version and commit, and help for every command", async () => {
    const version = await run([...launcher, "./kronos", "version"], dir, env);
    expect(version.stdout).toMatch(/^kronos \d+\.\d+\.\d+ \(commit (?!dev\b)\S+, bun \d+\.\d+\.\d+\)\n$/);
    const help = await run([...launcher, "./kronos", "--help"], dir, env);
    const commands = [...help.stdout.matchAll(/^ {2}([a-z]+) {2,}/gm)].map((m) => m[1] as string);
    expect(commands).toEqual(expect.arrayContaining(["serve", "migrate", "version", "replay"]));
    for (const command of commands) {
      const result = await run([...launcher, "./kronos", command, "--help"], dir, env);
      expect({ command, code: result.code }).toEqual({ command, code: 0 });
    }
  });

  test("embedded database: seeded on first start, runs, replays and stops on SIGTERM", async () => {
    const node = await startBinary();
    try {
      expect(node.ready.database).toStartWith("embedded");
      expect(existsSync(join(dir, ".kronos/data/PG_VERSION"))).toBe(true);
      await checkHttp(node);
      const runId = await runWorkflow(node);
      const base = `http://127.0.0.1:${node.adminPort}`;
      const replay = await run(
        [...launcher, "./kronos", "replay", runId, "--server", base, "--workflows", "./my-workflows.ts"],
        dir,
        env,
      );
      expect({ code: replay.code, out: replay.stdout + replay.stderr }).toMatchObject({ code: 0 });
    } finally {
      await stopWithinGrace(node);
    }
    // A later start opens the same data directory, with the run still there.
    const again = await startBinary();
    try {
      const runs = await grpc(again.ready.grpc as number, "ListRuns", {});
      expect(runs).toContain("smoke-greeting");
    } finally {
      await stopWithinGrace(again);
    }
  });

  describe("on PostgreSQL", () => {
    let pg: TestDatabase;
    beforeAll(async () => {
      pg = await createPostgresDatabase(1);
    }, 60_000);
    afterAll(async () => {
      await pg?.close();
    });

    test("DATABASE_URL: runs, replays from the database and stops on SIGTERM", async () => {
      const node = await startBinary({ DATABASE_URL: pg.url });
      try {
        expect(node.ready.database).toBe("postgres");
        await checkHttp(node);
        const runId = await runWorkflow(node);
        const replay = await run(
          [...launcher, "./kronos", "replay", runId, "--database-url", pg.url, "--workflows", "./my-workflows.ts"],
          dir,
          env,
        );
        expect({ code: replay.code, out: replay.stdout + replay.stderr }).toMatchObject({ code: 0 });
      } finally {
        await stopWithinGrace(node);
      }
    });
  });
});
