import type { PGliteOptions } from "@electric-sql/pglite";
import { assetPaths } from "./assets.ts";
import { seedDataDir } from "./seed.ts";

let wasm: Promise<[WebAssembly.Module, WebAssembly.Module]> | undefined;

function compile(path: string): Promise<WebAssembly.Module> {
  return Bun.file(path)
    .arrayBuffer()
    .then((bytes) => WebAssembly.compile(bytes));
}

/**
 * PGlite's options inside the compiled binary: its wasm modules and file bundle come from the
 * executable, and a database that does not exist yet starts as a copy of the initialised, migrated
 * one made at build time (about 0.1 s to extract instead of initdb's seconds).
 */
export async function embeddedPgliteOptions(dataDir: string | undefined): Promise<Partial<PGliteOptions>> {
  // Compiling the 9 MB wasm overlaps with extracting the data directory.
  wasm ??= Promise.all([compile(assetPaths.pgliteWasm), compile(assetPaths.initdbWasm)]);
  const tarball = Bun.file(assetPaths.dataDirTarball);
  if (dataDir) await seedDataDir(dataDir, tarball);
  const [pgliteWasmModule, initdbWasmModule] = await wasm;
  return {
    pgliteWasmModule,
    initdbWasmModule,
    fsBundle: Bun.file(assetPaths.pgliteData),
    // In memory there is nothing to seed on disk: PGlite loads the tarball itself.
    ...(dataDir ? {} : { loadDataDir: tarball }),
  };
}
