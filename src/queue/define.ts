import type { JobHandler } from "./types.ts";

/**
 * A job handler declared in a module that `kronos serve --workflows` loads (or passed to
 * `kronos.use()` in library mode).
 *
 * @example
 * export const sendEmail = job<{ to: string }>("send-email", async ({ to }, { signal }) => mailer.send(to, { signal }));
 */
export class JobDefinition<P = unknown> {
  constructor(
    readonly type: string,
    readonly handler: JobHandler<P> | JobHandler<P>["run"],
  ) {}
}

export function job<P = unknown>(type: string, handler: JobHandler<P> | JobHandler<P>["run"]): JobDefinition<P> {
  if (typeof type !== "string" || type.length === 0 || type.length > 200) {
    throw new Error(`job type must be 1 to 200 characters (got ${JSON.stringify(type)})`);
  }
  return new JobDefinition(type, handler);
}

/**
 * A recurring job: every tick of `schedule` (5 cron fields, or 6 with seconds first, in UTC)
 * enqueues one job of `type`, once across all nodes.
 *
 * @example
 * export const nightly = cron("nightly-report", "0 3 * * *", { type: "report", payload: { kind: "daily" } });
 */
export class CronDefinition {
  constructor(
    readonly name: string,
    readonly schedule: string,
    readonly job: { type: string; payload?: unknown; priority?: number; maxRetries?: number },
  ) {}
}

export function cron(name: string, schedule: string, job: CronDefinition["job"]): CronDefinition {
  return new CronDefinition(name, schedule, job);
}
