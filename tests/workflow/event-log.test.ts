// The event log stores one row per run per append (migration 0007) and must still read as one
// gapless sequence of events: from any seq, across rows, through the `kronos_events` view, and
// for events written before the migration.

import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { randomUUID } from "node:crypto";
import { type Database, json, migrate, sql, staticSql } from "../../src/db/index.ts";
import { migrations } from "../../src/db/migrations.ts";
import * as events from "../../src/store/events.ts";
import { backends, type TestDatabase, truncateAll } from "../support/postgres.ts";

async function insertRun(db: Database): Promise<string> {
  const id = randomUUID();
  await db.query(sql`
    INSERT INTO kronos_runs (id, definition_id, workflow_name, input_hash)
    VALUES (${id}::uuid, 1, 'log-test', ${"0".repeat(64)})`);
  return id;
}

for (const backend of backends) {
  describe(`event log on ${backend.name}`, () => {
    let t: TestDatabase;
    let db: Database;
    beforeAll(async () => {
      t = await backend.create();
      db = t.db;
    });
    afterAll(() => t.close());
    beforeEach(() => truncateAll(db));

    test("appends are numbered on gaplessly and read back from any seq, in order", async () => {
      const run = await insertRun(db);
      const other = await insertRun(db);
      await events.append(db, [{ runId: run, type: "run_started", data: { input: 1 } }]);
      await events.append(db, [
        { runId: run, type: "step_scheduled", step: "a", data: { jobId: 7 } },
        { runId: other, type: "run_started" },
        { runId: run, type: "step_started", step: "a", attempt: 1 },
      ]);
      await events.append(db, [
        { runId: run, type: "step_completed", step: "a", attempt: 1, data: { outputHash: "h" } },
        { runId: run, type: "run_completed" },
      ]);
      const all = await events.list(db, { runId: run });
      expect(all.map(({ seq, type, step, attempt, data }) => ({ seq, type, step, attempt, data }))).toEqual([
        { seq: 1, type: "run_started", step: null, attempt: null, data: { input: 1 } },
        { seq: 2, type: "step_scheduled", step: "a", attempt: null, data: { jobId: 7 } },
        { seq: 3, type: "step_started", step: "a", attempt: 1, data: {} },
        { seq: 4, type: "step_completed", step: "a", attempt: 1, data: { outputHash: "h" } },
        { seq: 5, type: "run_completed", step: null, attempt: null, data: {} },
      ]);
      expect(all.every((e) => e.runId === run && e.at instanceof Date)).toBe(true);
      for (let after = 0; after <= 5; after++) {
        expect((await events.list(db, { runId: run, afterSeq: after })).map((e) => e.seq)).toEqual(
          all.slice(after).map((e) => e.seq),
        );
        expect((await events.list(db, { runId: run, afterSeq: after, limit: 1 })).map((e) => e.seq)).toEqual(
          all.slice(after, after + 1).map((e) => e.seq),
        );
      }
      expect((await events.list(db, { runId: other })).map((e) => [e.seq, e.type])).toEqual([[1, "run_started"]]);
      // The largest seq the API accepts reads nothing rather than overflowing (found by chaos 5).
      expect(await events.list(db, { runId: run, afterSeq: 2 ** 31 - 1 })).toEqual([]);
      // Three appends to `run`, one to `other`: one row each.
      const [rows] = await db.query<{ n: number }>(sql`SELECT count(*)::int AS n FROM kronos_event_batches`);
      expect(rows?.n).toBe(4);
    });

    test("the kronos_events view shows one row per event, and neither it nor the table can be updated", async () => {
      const run = await insertRun(db);
      await events.append(db, [
        { runId: run, type: "run_started" },
        { runId: run, type: "step_scheduled", step: "a" },
      ]);
      const rows = await db.query<{ seq: number; type: string; step: string | null }>(
        sql`SELECT seq, type, step FROM kronos_events WHERE run_id = ${run}::uuid ORDER BY seq`,
      );
      expect(rows).toEqual([
        { seq: 1, type: "run_started", step: null },
        { seq: 2, type: "step_scheduled", step: "a" },
      ]);
      await expect(db.query(sql`UPDATE kronos_events SET step = 'b' WHERE run_id = ${run}::uuid`)).rejects.toThrow(
        "kronos_events is append-only",
      );
      await expect(
        db.query(sql`UPDATE kronos_event_batches SET at = now() WHERE run_id = ${run}::uuid`),
      ).rejects.toThrow("kronos_events is append-only");
    });

    test("a row whose events do not match its seq range, are not event objects, or name an unknown type, is refused", async () => {
      const run = await insertRun(db);
      const insert = (lastSeq: number, list: unknown) =>
        db.query(sql`
          INSERT INTO kronos_event_batches (run_id, seq, last_seq, events)
          VALUES (${run}::uuid, 1, ${lastSeq}, ${json(list)}::jsonb)`);
      await expect(insert(2, [{ type: "run_started" }])).rejects.toThrow("kronos_event_batches_seq_range");
      await expect(insert(1, [{ type: "run_exploded" }])).rejects.toThrow("kronos_event_batches_known_types");
      await expect(insert(1, [{ step: "a" }])).rejects.toThrow("kronos_event_batches_known_types");
      await expect(insert(1, [{ type: 5 }])).rejects.toThrow("kronos_event_batches_known_types");
      await expect(insert(1, [{ type: ["run_started"] }])).rejects.toThrow("kronos_event_batches_known_types");
      // Every element must itself be an event object: not a nested list of them, not a bare type.
      await expect(insert(1, [[{ type: "run_started" }]])).rejects.toThrow("kronos_event_batches_known_types");
      await expect(insert(1, ["run_started"])).rejects.toThrow("kronos_event_batches_known_types");
      await expect(insert(2, [{ type: "run_started" }, { step: "a" }])).rejects.toThrow(
        "kronos_event_batches_known_types",
      );
      await insert(2, [{ type: "run_started" }, { type: "step_scheduled", step: "a" }]);
    });

    test("appending to a run that does not exist fails and writes nothing", async () => {
      const run = await insertRun(db);
      await expect(
        events.append(db, [
          { runId: run, type: "run_started" },
          { runId: randomUUID(), type: "run_started" },
        ]),
      ).rejects.toThrow("cannot append events: 1 name a run that does not exist");
    });
  });
}

describe("migration 0007 on postgres", () => {
  test("events written one row each before it read back the same after it", async () => {
    const t = await backends[0].create();
    try {
      const { db } = t;
      await db.query(sql`DROP SCHEMA public CASCADE`);
      await db.query(sql`CREATE SCHEMA public`);
      await migrate(db, migrations.slice(0, 6));
      const run = await insertRun(db);
      await db.query(
        staticSql(`
          INSERT INTO kronos_events (run_id, seq, type, step, attempt, data) VALUES
            ('${run}', 1, 'run_started', NULL, NULL, '{"x": 1}'),
            ('${run}', 2, 'step_scheduled', 'a', NULL, '{}'),
            ('${run}', 3, 'step_started', 'a', 1, '{"jobId": 3}')`),
      );
      await migrate(db);
      await events.append(db, [{ runId: run, type: "step_completed", step: "a", attempt: 1 }]);
      const log = await events.list(db, { runId: run });
      expect(log.map(({ seq, type, step, attempt, data }) => ({ seq, type, step, attempt, data }))).toEqual([
        { seq: 1, type: "run_started", step: null, attempt: null, data: { x: 1 } },
        { seq: 2, type: "step_scheduled", step: "a", attempt: null, data: {} },
        { seq: 3, type: "step_started", step: "a", attempt: 1, data: { jobId: 3 } },
        { seq: 4, type: "step_completed", step: "a", attempt: 1, data: {} },
      ]);
    } finally {
      await t.close();
    }
  });
});
