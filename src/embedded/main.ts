/**
 * Entry of the compiled binary (scripts/build.ts compiles this file, not src/main.ts): PGlite gets
 * its files and a ready-made data directory from inside the executable, then the ordinary command
 * line runs. From source (`bun src/main.ts`) none of this is loaded and PGlite uses node_modules.
 */
import { provideEngine } from "../db/pglite.ts";
import { embeddedPgliteOptions } from "./pglite.ts";

provideEngine(embeddedPgliteOptions);
await import("../main.ts");
