/**
 * The files the compiled binary carries inside itself. Only the compile entry (./main.ts) imports
 * this module: from source, PGlite finds the same files in node_modules, and the data-directory
 * tarball (made by scripts/build.ts) need not exist.
 *
 * A `type: "file"` import is a path: on disk when run from source, under /$bunfs/ in the binary.
 */

import dataDirTarball from "../../dist/.build/pgdata.tar.gz" with { type: "file" };
import initdbWasm from "../../node_modules/@electric-sql/pglite/dist/initdb.wasm" with { type: "file" };
import pgliteData from "../../node_modules/@electric-sql/pglite/dist/pglite.data" with { type: "file" };
import pgliteWasm from "../../node_modules/@electric-sql/pglite/dist/pglite.wasm" with { type: "file" };

export const assetPaths = { pgliteWasm, initdbWasm, pgliteData, dataDirTarball } as const;
