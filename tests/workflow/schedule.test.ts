// Scheduling ready steps is one statement: it creates their jobs, the first ones already claimed by
// the completing worker, and points each step row at its own job.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomUUID } from "node:crypto";
import { type Database, sql } from "../../src/db/index.ts";
import * as steps from "../../src/store/steps.ts";
import { backends, type TestDatabase } from "../support/postgres.ts";

for (const backend of backends) {
  describe(`scheduling steps on ${backend.name}`, () => {
    let t: TestDatabase;
    let db: Database;
    beforeAll(async () => {
      t = await backend.create();
      db = t.db;
    });
    afterAll(() => t.close());

    test("the first `count` jobs are created claimed, the rest pending, each step pointed at its job", async () => {
      const run = randomUUID();
      const names = ["c1", "c2", "c3"];
      await db.query(sql`
        INSERT INTO kronos_steps (run_id, name, status) SELECT ${run}::uuid, n, 'waiting' FROM unnest(${names}::text[]) n`);
      const ids = await steps.schedule(
        db,
        names.map((name, i) => ({
          runId: run,
          name,
          jobType: "kronos.workflow_step",
          payload: { runId: run, step: name },
          definitionId: 7,
          maxRetries: i,
          timeoutMs: i === 2 ? 500 : null,
        })),
        { worker: "node-a", leaseMs: 60_000, count: 2 },
      );
      expect(ids).toHaveLength(3);
      expect([...ids].sort((a, b) => a - b)).toEqual(ids);
      const jobs = await db.query<Record<string, unknown>>(sql`
        SELECT id, payload->>'step' AS step, state, attempt, lease_owner AS owner, lease_expires_at > now() AS leased,
               started_at IS NOT NULL AS started, max_retries AS retries, timeout_ms AS timeout, definition_id AS def
        FROM kronos_jobs WHERE id = ANY(${ids}::bigint[]) ORDER BY id`);
      expect(jobs).toEqual([
        {
          id: ids[0],
          step: "c1",
          state: "running",
          attempt: 1,
          owner: "node-a",
          leased: true,
          started: true,
          retries: 0,
          timeout: null,
          def: 7,
        },
        {
          id: ids[1],
          step: "c2",
          state: "running",
          attempt: 1,
          owner: "node-a",
          leased: true,
          started: true,
          retries: 1,
          timeout: null,
          def: 7,
        },
        {
          id: ids[2],
          step: "c3",
          state: "pending",
          attempt: 0,
          owner: null,
          leased: null,
          started: false,
          retries: 2,
          timeout: 500,
          def: 7,
        },
      ]);
      const rows = await db.query<Record<string, unknown>>(sql`
        SELECT name, status, job_id AS "jobId", attempt, started_at IS NOT NULL AS started
        FROM kronos_steps WHERE run_id = ${run}::uuid ORDER BY name`);
      expect(rows).toEqual([
        { name: "c1", status: "running", jobId: ids[0], attempt: 1, started: true },
        { name: "c2", status: "running", jobId: ids[1], attempt: 1, started: true },
        { name: "c3", status: "scheduled", jobId: ids[2], attempt: 0, started: false },
      ]);
    });

    test("without a claim every job is pending", async () => {
      const run = randomUUID();
      await db.query(sql`INSERT INTO kronos_steps (run_id, name, status) VALUES (${run}::uuid, 'only', 'waiting')`);
      const [id] = await steps.schedule(db, [
        { runId: run, name: "only", jobType: "t", payload: null, definitionId: 1, maxRetries: 3, timeoutMs: null },
      ]);
      const [job] = await db.query(sql`SELECT state, attempt FROM kronos_jobs WHERE id = ${id as number}`);
      expect(job).toEqual({ state: "pending", attempt: 0 });
    });
  });
}
