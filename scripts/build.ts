#!/usr/bin/env bun
/**
 * `npm run build`: dist/kronos, one executable holding the CLI (every command in src/main.ts), the
 * engine, the API with its proto descriptors, the debugger UI, the migrations, and PGlite: its wasm,
 * its file bundle and an initialised, migrated data directory, so a first start skips initdb.
 *
 *   bun scripts/build.ts [--target bun-linux-arm64] [--outfile dist/kronos-arm64]
 *
 * The data-directory tarball is cached in dist/.build and made again only when the migrations or
 * PGlite change. KRONOS_COMMIT overrides the commit printed by `kronos version` (Docker builds,
 * which have no .git).
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { parseArgs } from "node:util";

export const ROOT = join(import.meta.dir, "..");
/** The compile entry: installs the embedded PGlite, then runs src/main.ts. */
const ENTRY = join(ROOT, "src/embedded/main.ts");
/** Where src/embedded/assets.ts imports the tarball from. */
const TARBALL = join(ROOT, "dist/.build/pgdata.tar.gz");
const TARBALL_KEY = `${TARBALL}.key`;

export interface BuildOptions {
  /** A Bun compile target such as "bun-linux-arm64"; default: this machine. */
  target?: Bun.Build.CompileTarget;
  /** Default dist/kronos. */
  outfile?: string;
  log?: (line: string) => void;
}

export interface BuildResult {
  outfile: string;
  bytes: number;
  commit: string;
  ms: number;
}

function git(args: string[]): string | undefined {
  const result = Bun.spawnSync(["git", ...args], { cwd: ROOT, stdout: "pipe", stderr: "ignore" });
  return result.exitCode === 0 ? result.stdout.toString().trim() : undefined;
}

/** The commit `kronos version` prints: KRONOS_COMMIT, else git's HEAD (+"-dirty"), else "unknown". */
export function buildCommit(): string {
  if (process.env.KRONOS_COMMIT) return process.env.KRONOS_COMMIT;
  const head = git(["rev-parse", "--short=12", "HEAD"]);
  if (!head) return "unknown";
  return git(["status", "--porcelain", "--untracked-files=no"]) ? `${head}-dirty` : head;
}

/** Files whose content decides the data-directory tarball. */
function tarballInputs(): string[] {
  const migrations = readdirSync(join(ROOT, "migrations"))
    .filter((f) => f.endsWith(".sql"))
    .sort()
    .map((f) => join(ROOT, "migrations", f));
  return [
    ...migrations,
    join(ROOT, "src/db/migrations.ts"),
    join(ROOT, "src/db/migrate.ts"),
    join(ROOT, "src/embedded/tarball.ts"),
    join(ROOT, "node_modules/@electric-sql/pglite/package.json"),
  ];
}

/** Makes dist/.build/pgdata.tar.gz unless the cached one was made from the same inputs. */
export async function ensureDataDirTarball(log: (line: string) => void = () => {}): Promise<void> {
  const hash = createHash("sha256");
  for (const file of tarballInputs()) hash.update(relative(ROOT, file)).update("\0").update(readFileSync(file));
  const key = hash.digest("hex");
  if (existsSync(TARBALL) && existsSync(TARBALL_KEY) && readFileSync(TARBALL_KEY, "utf8") === key) {
    log(`data directory: cached ${relative(ROOT, TARBALL)}`);
    return;
  }
  const started = performance.now();
  const { makeDataDirTarball } = await import("../src/embedded/tarball.ts");
  const tarball = await makeDataDirTarball();
  mkdirSync(dirname(TARBALL), { recursive: true });
  writeFileSync(TARBALL, tarball);
  writeFileSync(TARBALL_KEY, key);
  log(
    `data directory: made ${relative(ROOT, TARBALL)} (${(tarball.length / 1e6).toFixed(1)} MB) in ${Math.round(performance.now() - started)} ms`,
  );
}

/**
 * Scripts that prepare files the binary embeds, run (when present) before compiling: the debugger
 * UI's prebuilt bundle (dist/ui/, embedded through src/debugger/embedded.ts).
 */
const PREPARE = ["scripts/build-ui.ts"];

function prepare(log: (line: string) => void): void {
  for (const script of PREPARE) {
    if (!existsSync(join(ROOT, script))) continue;
    const result = Bun.spawnSync([process.execPath, join(ROOT, script)], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
    const output = `${result.stdout.toString()}${result.stderr.toString()}`.trim();
    if (result.exitCode !== 0) throw new Error(`${script} failed (exit ${result.exitCode}):\n${output}`);
    log(`${script}: ${output.split("\n").at(-1) ?? "done"}`);
  }
}

/** Compiles the executable. Throws with the bundler's messages when the build fails. */
export async function buildBinary(options: BuildOptions = {}): Promise<BuildResult> {
  const log = options.log ?? (() => {});
  const started = performance.now();
  const outfile = options.outfile ?? join(ROOT, "dist/kronos");
  const commit = buildCommit();
  await ensureDataDirTarball(log);
  prepare(log);
  mkdirSync(dirname(outfile), { recursive: true });
  const result = await Bun.build({
    entrypoints: [ENTRY],
    compile: {
      ...(options.target ? { target: options.target } : {}),
      outfile,
      // The binary is configured by its flags and environment only, not by files that happen to
      // lie in the directory it is started from.
      autoloadDotenv: false,
      autoloadBunfig: false,
    },
    minify: { syntax: true, whitespace: true },
    sourcemap: "linked",
    define: { KRONOS_COMMIT: JSON.stringify(commit) },
    throw: false,
  });
  if (!result.success) {
    const messages = result.logs.map((l) => String(l)).join("\n");
    throw new Error(`bun build --compile failed for ${options.target ?? "this machine"}:\n${messages}`);
  }
  // The source map is also embedded (stack traces name src/ files); the copy beside it is not needed.
  rmSync(`${outfile}.map`, { force: true });
  const bytes = statSync(outfile).size;
  const ms = Math.round(performance.now() - started);
  log(`built ${relative(process.cwd(), outfile)} (${(bytes / 1e6).toFixed(1)} MB, commit ${commit}) in ${ms} ms`);
  return { outfile, bytes, commit, ms };
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: { target: { type: "string" }, outfile: { type: "string" } },
    strict: true,
  });
  try {
    await buildBinary({
      target: values.target as Bun.Build.CompileTarget | undefined,
      outfile: values.outfile,
      log: (line) => console.log(line),
    });
  } catch (error) {
    console.error((error as Error).message);
    process.exit(1);
  }
}
