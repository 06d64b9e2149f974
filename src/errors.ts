/**
 * Every error Kronos raises on purpose: a string `code` that the API maps to a Connect code in
 * one place, a message that names the thing and the fix, and typed fields for the details.
 */
export type ErrorCode =
  | "invalid_argument"
  | "not_found"
  | "already_exists"
  | "failed_precondition"
  | "unauthenticated"
  | "resource_exhausted"
  | "unavailable"
  | "internal";

export class KronosError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Bad input; `field` names what was wrong (e.g. "workflowName", "steps.enrich.after"). */
export class InvalidArgumentError extends KronosError {
  constructor(
    readonly field: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super("invalid_argument", message, options);
  }
}

export class NotFoundError extends KronosError {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super("not_found", message);
  }
}

export class FailedPreconditionError extends KronosError {
  constructor(message: string) {
    super("failed_precondition", message);
  }
}

export class AlreadyExistsError extends KronosError {
  constructor(message: string) {
    super("already_exists", message);
  }
}

/** A workflow definition that cannot be registered; `step` names the step at fault, if one is. */
export class DefinitionError extends InvalidArgumentError {
  constructor(
    readonly workflow: string,
    readonly step: string | undefined,
    message: string,
  ) {
    super(step ? `steps.${step}` : "workflow", message);
  }
}

/** Turns anything thrown into an Error, once, at the boundary that caught it. */
export function toError(thrown: unknown): Error {
  if (thrown instanceof Error) return thrown;
  return new Error(typeof thrown === "string" ? thrown : (JSON.stringify(thrown) ?? String(thrown)));
}
