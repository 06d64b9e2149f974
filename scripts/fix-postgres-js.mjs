// Fixes a stall in postgres.js 3.4.9 (porsager/postgres #1066, #1154, #1208; no release fixes it).
// When a connection's socket closes while a small write is waiting for its setImmediate flush,
// `closed()` clears the timer but leaves its handle set, and `write()` only schedules a flush when
// the handle is null: every later query on that connection is queued and never sent, so after a
// PostgreSQL restart under load some queries hung for good (docs/reliability.md, scenario 2).
// The fix forgets the pending chunk and timer when the socket goes away, and refuses to write to a
// missing socket. Runs as npm's postinstall (plain Node, no dependencies); idempotent.
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const MARKER = "/* kronos: stalled-write fix */";
const FIXED_VERSION = "3.4.9";

const edits = [
  {
    find: "  function nextWrite(fn) {\n    const x = socket.write(chunk, fn)",
    replace:
      `  function nextWrite(fn) {\n    ${MARKER}\n    if (!socket) {\n      chunk = nextWriteTimer = null\n` +
      "      error(Errors.connection('CONNECTION_CLOSED', options))\n      return false\n    }\n" +
      "    const x = socket.write(chunk, fn)",
  },
  {
    find: "      error(Errors.connection('CONNECTION_DESTROYED', options))\n\n    clearImmediate(nextWriteTimer)\n",
    replace:
      "      error(Errors.connection('CONNECTION_DESTROYED', options))\n\n    clearImmediate(nextWriteTimer)\n" +
      "    chunk = nextWriteTimer = null\n",
  },
  {
    find: "    incomings = null\n    clearImmediate(nextWriteTimer)\n",
    replace: "    incomings = null\n    clearImmediate(nextWriteTimer)\n    chunk = nextWriteTimer = null\n",
  },
];

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "node_modules", "postgres");
const { version } = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
if (version !== FIXED_VERSION) {
  console.error(
    `kronos: postgres.js is ${version}, not ${FIXED_VERSION}; the stalled-write fix was written for ` +
      `${FIXED_VERSION} and is not applied (check whether ${version} still needs it)`,
  );
  process.exit(0);
}
for (const file of ["src/connection.js", "cjs/src/connection.js"]) {
  const path = join(root, file);
  let text = readFileSync(path, "utf8");
  if (text.includes(MARKER)) continue;
  for (const { find, replace } of edits) {
    if (!text.includes(find)) throw new Error(`kronos: cannot fix ${path}: expected code not found`);
    text = text.replace(find, replace);
  }
  writeFileSync(path, text);
  console.error(`kronos: applied the postgres.js stalled-write fix to ${file}`);
}
