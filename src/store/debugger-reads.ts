import { type Queryable, sql } from "../db/index.ts";

/**
 * Ids of runs whose id starts with a prefix, for the debugger's search box: the prefix becomes a
 * range of UUIDs ("3fa8" -> 3fa80000-… to 3fa8ffff-…), so the primary key index answers it
 * whatever the table's size. `low` and `high` are full UUIDs; ids in order.
 */
export async function runIdsInRange(db: Queryable, p: { low: string; high: string; limit: number }): Promise<string[]> {
  const rows = await db.query<{ id: string }>(sql`
    SELECT id FROM kronos_runs WHERE id BETWEEN ${p.low}::uuid AND ${p.high}::uuid ORDER BY id LIMIT ${p.limit}`);
  return rows.map((r) => r.id);
}
