import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type Database, sql } from "../../src/db/index.ts";
import { analyzeFreshTables } from "../../src/queue/statistics.ts";
import * as jobs from "../../src/store/jobs.ts";
import { backends, type TestDatabase } from "../support/postgres.ts";
import { waitFor } from "../support/wait.ts";

const analysed = async (db: Database, table: string) => {
  const [row] = await db.query<{ done: boolean }>(sql`
    SELECT last_analyze IS NOT NULL AS done FROM pg_stat_user_tables WHERE relname = ${table}`);
  return row?.done === true;
};

for (const backend of backends) {
  describe(`first statistics on ${backend.name}`, () => {
    let t: TestDatabase;
    beforeAll(async () => {
      t = await backend.create();
    });
    afterAll(() => t.close());

    test("a hot table is analysed once enough rows changed, and only while it never was", async () => {
      // Autovacuum getting there first would leave nothing to do: keep it off this table.
      await t.db.query(sql`ALTER TABLE kronos_jobs SET (autovacuum_enabled = false)`);
      await jobs.submitMany(
        t.db,
        Array.from({ length: 50 }, () => ({ type: "noop" })),
      );
      expect((await analyzeFreshTables(t.db, 1_000)).analysed).toEqual([]);
      await jobs.submitMany(
        t.db,
        Array.from({ length: 1_500 }, () => ({ type: "noop" })),
      );
      // Row counts reach the statistics views within a second or so of the commit.
      let pass: Awaited<ReturnType<typeof analyzeFreshTables>> = { analysed: [], waiting: [] };
      await waitFor("kronos_jobs to be analysed", async () => {
        pass = await analyzeFreshTables(t.db, 1_000);
        return pass.analysed.length > 0;
      });
      expect(pass.analysed).toEqual(["kronos_jobs"]);
      expect(await analysed(t.db, "kronos_jobs")).toBe(true);
      // The other hot tables still wait for enough changes; kronos_jobs is never analysed again.
      expect(pass.waiting).toEqual(["kronos_blobs", "kronos_event_batches", "kronos_runs", "kronos_steps"]);
      expect(await analyzeFreshTables(t.db, 1_000)).toEqual({ analysed: [], waiting: pass.waiting });
    });
  });
}
