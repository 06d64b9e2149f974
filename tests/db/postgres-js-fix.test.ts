import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";

// postgres.js 3.4.9 can stall a connection for good when its socket closes with a small write
// pending (scripts/fix-postgres-js.mjs explains; chaos scenario 2 restarts PostgreSQL under load to
// show it). npm's postinstall applies the fix; this checks the code Bun loads carries it.
test("the installed postgres.js carries the stalled-write fix", () => {
  const root = resolve(import.meta.dir, "../../node_modules/postgres");
  for (const file of ["src/connection.js", "cjs/src/connection.js"]) {
    const text = readFileSync(resolve(root, file), "utf8");
    expect({ file, fixed: text.includes("/* kronos: stalled-write fix */") }).toEqual({ file, fixed: true });
    // The timer handle is forgotten wherever it is cleared on a closing socket.
    expect(text.split("\n    clearImmediate(nextWriteTimer)\n    chunk = nextWriteTimer = null").length - 1).toBe(2);
  }
});
