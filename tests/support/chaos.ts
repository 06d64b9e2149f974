// Read-only helpers shared by the chaos tests and the tests of what chaos runs found: row counts,
// and a failure message that lists a scenario's broken invariants with its figures.

import { type TableCounts, tableCounts } from "../../scripts/chaos/invariants.ts";
import type { ScenarioResult } from "../../scripts/chaos/result.ts";
import type { Database } from "../../src/db/index.ts";

/** Rows in every Kronos table (for "nothing was written" checks). */
export function countRows(db: Database): Promise<TableCounts> {
  return tableCounts(db);
}

/** A scenario's outcome, its failures and its figures, one per line (what the chaos tests print). */
export function describeResult(r: ScenarioResult): string {
  const figures = r.figures.map(([k, v]) => `  ${k}: ${v}`).join("\n");
  const failures = r.failures.map((f) => `  ✗ ${f}`).join("\n");
  return `chaos ${r.id} (${r.title}): ${r.passed ? "pass" : "FAIL"} in ${r.seconds} s\n${failures}${failures ? "\n" : ""}${figures}`;
}
