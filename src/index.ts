/**
 * Kronos: durable workflows and a job queue on PostgreSQL. This module is everything a user
 * imports, from their own program or from a workflow file loaded by `kronos serve`.
 */

export { createKronosClient, fromValue, type KronosClient, type KronosClientOptions, toValue } from "./client/index.ts";
export {
  AlreadyExistsError,
  DefinitionError,
  FailedPreconditionError,
  InvalidArgumentError,
  KronosError,
  NotFoundError,
} from "./errors.ts";
export { Kronos, type KronosOptions } from "./kronos.ts";
export { CronDefinition, cron, JobDefinition, job } from "./queue/define.ts";
export type { JobContext, JobHandler } from "./queue/types.ts";
export { type StepContext, type StepFn, type StepOptions, Workflow, workflow } from "./workflow/define.ts";
