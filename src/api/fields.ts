/**
 * Checks of request fields, shared by the RPC groups. Each refusal is an InvalidArgumentError
 * naming the field as it is spelled in proto JSON (camelCase), so curl users see what to fix.
 */
import { type Timestamp, timestampDate } from "@bufbuild/protobuf/wkt";
import { InvalidArgumentError } from "../errors.ts";
import { checkRunId } from "../workflow/engine.ts";

/** Page size when a request leaves page_size at 0. */
export const DEFAULT_PAGE_SIZE = 50;
/** Larger page sizes are lowered to this (AIP-158: clamp, do not refuse). */
export const MAX_PAGE_SIZE = 1000;

/** A non-empty string of at most `max` characters, storable in PostgreSQL (no NUL character). */
export function requiredText(value: string, field: string, max: number): string {
  if (value === "") throw new InvalidArgumentError(field, `${field} is required`);
  if (value.length > max) throw new InvalidArgumentError(field, `${field} is longer than ${max} characters`);
  // PostgreSQL text cannot hold U+0000: it came back as an error answered Internal (chaos scenario 5).
  if (value.includes("\0"))
    throw new InvalidArgumentError(field, `${field} must not contain a NUL character (\\u0000)`);
  return value;
}

/** An optional string: empty means unset; otherwise at most `max` characters. */
export function optionalText(value: string, field: string, max: number): string | undefined {
  return value === "" ? undefined : requiredText(value, field, max);
}

/** A run id (a UUID), lower-cased. */
export function runIdOf(value: string, field = "runId"): string {
  if (value === "") throw new InvalidArgumentError(field, `${field} is required`);
  return checkRunId(value, field);
}

/** A job id: a positive int64 that fits a JavaScript number (ids are far below 2^53). */
export function jobIdOf(value: bigint, field = "id"): number {
  if (value <= 0n) throw new InvalidArgumentError(field, `${field} is required: a job id is a positive integer`);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new InvalidArgumentError(field, `${field} ${value} is too large`);
  return Number(value);
}

/** An integer within [min, max]. */
export function intWithin(value: number, field: string, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new InvalidArgumentError(field, `${field} must be between ${min} and ${max}; got ${value}`);
  }
  return value;
}

/** Job priority: 0 means the default, 5. */
export function priorityOf(value: number): number {
  if (value === 0) return 5;
  if (value < 1 || value > 10) {
    throw new InvalidArgumentError(
      "priority",
      `priority must be between 1 and 10 (0 means the default, 5); got ${value}`,
    );
  }
  return value;
}

/** page_size: 0 is the default, negative is refused, above the maximum is lowered to it. */
export function pageSizeOf(value: number): number {
  if (value < 0) throw new InvalidArgumentError("pageSize", `pageSize must not be negative; got ${value}`);
  return value === 0 ? DEFAULT_PAGE_SIZE : Math.min(value, MAX_PAGE_SIZE);
}

// PostgreSQL's timestamptz covers 4713 BC to 294276 AD; keep to years a person would mean.
const EARLIEST = Date.UTC(1, 0, 1);
const LATEST = Date.UTC(9999, 11, 31);

/** An optional timestamp as a Date; out-of-range values are refused naming the field. */
export function dateOf(value: Timestamp | undefined, field: string): Date | undefined {
  if (value === undefined) return undefined;
  const date = timestampDate(value);
  const ms = date.getTime();
  if (!Number.isFinite(ms) || ms < EARLIEST || ms > LATEST || value.nanos < 0 || value.nanos > 999_999_999) {
    throw new InvalidArgumentError(field, `${field} is not a valid time between year 1 and 9999`);
  }
  return date;
}
