#!/usr/bin/env bun
/**
 * `npm run release`: dist/release/kronos-<version>-linux-x64 and -linux-arm64, with SHA256SUMS
 * (`sha256sum -c SHA256SUMS` checks them).
 *
 * Cross-compiling needs Bun's runtime for the other architecture: Bun fetches it from npm the first
 * time and keeps it in ~/.bun/install/cache. When a target cannot be built (no network, say), the
 * others are still built and checksummed, the failure is reported, and the exit code is 1.
 */
import { createHash } from "node:crypto";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { basename, join, relative } from "node:path";
import pkg from "../package.json" with { type: "json" };
import { buildBinary, ROOT } from "./build.ts";

interface Target {
  name: string;
  bun: Bun.Build.CompileTarget;
  /** ELF e_machine of a binary for this target, to catch a mislabelled build. */
  machine: number;
}

const TARGETS: Target[] = [
  { name: "linux-x64", bun: "bun-linux-x64", machine: 0x3e },
  { name: "linux-arm64", bun: "bun-linux-arm64", machine: 0xb7 },
];

const OUT = join(ROOT, "dist/release");

async function elfMachine(path: string): Promise<number> {
  const header = await Bun.file(path).slice(0, 20).bytes();
  return new DataView(header.buffer, header.byteOffset, header.byteLength).getUint16(18, true);
}

async function sha256(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of Bun.file(path).stream()) hash.update(chunk);
  return hash.digest("hex");
}

rmSync(OUT, { recursive: true, force: true });
mkdirSync(OUT, { recursive: true });
const sums: string[] = [];
const failed: { target: Target; message: string }[] = [];
for (const target of TARGETS) {
  const outfile = join(OUT, `kronos-${pkg.version}-${target.name}`);
  try {
    await buildBinary({ target: target.bun, outfile, log: (line) => console.log(`[${target.name}] ${line}`) });
    const machine = await elfMachine(outfile);
    if (machine !== target.machine) {
      throw new Error(`the binary is for ELF machine 0x${machine.toString(16)}, not ${target.name}`);
    }
    sums.push(`${await sha256(outfile)}  ${basename(outfile)}`);
  } catch (error) {
    rmSync(outfile, { force: true });
    failed.push({ target, message: (error as Error).message });
    console.error(`[${target.name}] could not build: ${(error as Error).message}`);
  }
}
writeFileSync(join(OUT, "SHA256SUMS"), sums.length ? `${sums.join("\n")}\n` : "");
console.log(`\n${relative(process.cwd(), join(OUT, "SHA256SUMS"))}:\n${sums.join("\n")}`);
if (failed.length > 0) {
  console.error(
    `\nrelease incomplete: ${failed.map((f) => f.target.name).join(", ")} not built. Cross-compiling fetches ` +
      `Bun's runtime for the target from npm on first use; without network only targets already in ` +
      `~/.bun/install/cache (and this machine's, ${process.platform}-${process.arch}) can be built.`,
  );
  process.exit(1);
}
