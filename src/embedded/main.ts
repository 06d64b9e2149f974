/**
 * Entry of the compiled binary (scripts/build.ts compiles this file, not src/main.ts): PGlite gets
 * its files and a ready-made data directory from inside the executable, the debugger serves its
 * prebuilt UI bundle, then the ordinary command line runs. From source (`bun src/main.ts`) none of
 * this is loaded: PGlite uses node_modules and the UI is bundled from ui/ in memory.
 */
import "../debugger/embedded.ts";
import { provideEngine } from "../db/pglite.ts";
import { embeddedPgliteOptions } from "./pglite.ts";

provideEngine(embeddedPgliteOptions);
await import("../main.ts");
