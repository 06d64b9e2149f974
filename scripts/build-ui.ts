#!/usr/bin/env bun
/**
 * Writes the debugger UI's prebuilt bundle to dist/ui/ (index.html, app.js, app.css), for the
 * compiled binary: src/debugger/embedded.ts embeds those three files and hands them to the
 * debugger, so the binary never bundles at run time. From source, `kronos serve` bundles ui/ in
 * memory instead, and dist/ui/ is not used.
 *
 *   bun scripts/build-ui.ts [--outdir dist/ui]
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { parseArgs } from "node:util";
import { buildUi } from "../src/debugger/bundle.ts";

export const UI_DIR = join(import.meta.dir, "../dist/ui");

export interface UiBuildResult {
  outdir: string;
  /** Bytes of each file, and of its gzip. */
  files: { name: string; bytes: number; gzip: number }[];
  ms: number;
}

/** Bundles ui/ and writes it to `outdir` (default dist/ui/). */
export async function buildUiDir(outdir = UI_DIR): Promise<UiBuildResult> {
  const started = performance.now();
  const ui = await buildUi();
  mkdirSync(outdir, { recursive: true });
  const files = [
    { name: "index.html", body: new TextEncoder().encode(ui.html) },
    { name: "app.js", body: ui.js },
    { name: "app.css", body: ui.css },
  ].map(({ name, body }) => {
    writeFileSync(join(outdir, name), body);
    return { name, bytes: body.length, gzip: Bun.gzipSync(body as Uint8Array<ArrayBuffer>).length };
  });
  return { outdir, files, ms: Math.round(performance.now() - started) };
}

if (import.meta.main) {
  const { values } = parseArgs({ args: process.argv.slice(2), options: { outdir: { type: "string" } }, strict: true });
  try {
    const result = await buildUiDir(values.outdir ?? UI_DIR);
    const sizes = result.files.map(
      (f) => `${f.name} ${(f.bytes / 1024).toFixed(1)} KB (${(f.gzip / 1024).toFixed(1)} KB gz)`,
    );
    console.log(`built ${relative(process.cwd(), result.outdir)}/ in ${result.ms} ms: ${sizes.join(", ")}`);
  } catch (error) {
    console.error((error as Error).message);
    process.exit(1);
  }
}
