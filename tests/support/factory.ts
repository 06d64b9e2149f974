import { json, type Queryable, sql } from "../../src/db/index.ts";
import type { Job, JobState } from "../../src/store/jobs.ts";
import * as jobs from "../../src/store/jobs.ts";

/** A job row in any state, with defaults for everything not given. */
export async function job(
  db: Queryable,
  p: Partial<jobs.NewJob> & { state?: JobState; attempt?: number; leaseOwner?: string; leaseExpiresAt?: Date } = {},
): Promise<Job> {
  const { job: created } = await jobs.submit(db, { type: "test", ...p });
  if (!p.state || p.state === "pending") return created;
  const running = p.state === "running";
  const finished = !running;
  const [row] = await db.query<Job>(sql`
    UPDATE kronos_jobs SET state = ${p.state}, attempt = ${p.attempt ?? (running ? 1 : 0)},
      lease_owner = ${running ? (p.leaseOwner ?? "factory") : null}::text,
      lease_expires_at = ${running ? (p.leaseExpiresAt ?? new Date(Date.now() + 60_000)) : null}::timestamptz,
      finished_at = CASE WHEN ${finished} THEN now() END, result = ${json(null)}::jsonb
    WHERE id = ${created.id}
    RETURNING id, state, attempt`);
  return { ...created, ...(row as Partial<Job>) };
}
