import type { Queryable } from "../db/index.ts";
import { analyze, type HotTable, neverAnalyzed } from "../store/statistics.ts";

/**
 * Analyses the hot tables that have never been analysed once `minChanges` rows changed in them.
 * Autovacuum takes up to a minute to get to a fresh table (and never runs on PGlite); until then
 * claims are planned as "sort every pending job", which halves throughput. Returns the tables
 * analysed and those still waiting for enough changes (none left: the pass has nothing more to do).
 */
export async function analyzeFreshTables(
  db: Queryable,
  minChanges = 1_000,
): Promise<{ analysed: HotTable[]; waiting: HotTable[] }> {
  const fresh = await neverAnalyzed(db);
  const analysed = fresh.filter((t) => t.changes >= minChanges).map((t) => t.table);
  for (const table of analysed) await analyze(db, table);
  return { analysed, waiting: fresh.filter((t) => t.changes < minChanges).map((t) => t.table) };
}
