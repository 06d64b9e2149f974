/**
 * Opaque page tokens: base64url of a small JSON keyset cursor, tagged with the list it belongs to.
 * Clients must not build them; a token that does not decode to the expected cursor is refused
 * with InvalidArgument naming `pageToken`, never passed to SQL.
 */
import { InvalidArgumentError } from "../errors.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Where the next page of ListJobs starts: jobs with a smaller id. */
export interface JobsCursor {
  list: "jobs";
  id: number;
}

/** Where the next page of ListDeadJobs starts, in (finished_at, id) order; `at` is µs since 1970. */
export interface DeadJobsCursor {
  list: "dead-jobs";
  at: number;
  id: number;
}

/** Where the next page of ListRuns starts, in (created_at, id) order; `at` is µs since 1970. */
export interface RunsCursor {
  list: "runs";
  at: number;
  id: string;
}

export type Cursor = JobsCursor | DeadJobsCursor | RunsCursor;

/** Encodes a cursor as the token clients pass back. */
export function encodePageToken(cursor: Cursor): string {
  return Buffer.from(JSON.stringify(cursor)).toString("base64url");
}

const isPositiveInt = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) > 0;

function valid(cursor: Record<string, unknown>, list: Cursor["list"]): boolean {
  if (cursor.list !== list) return false;
  switch (list) {
    case "jobs":
      return isPositiveInt(cursor.id);
    case "dead-jobs":
      return isPositiveInt(cursor.id) && Number.isSafeInteger(cursor.at);
    case "runs":
      return typeof cursor.id === "string" && UUID.test(cursor.id) && Number.isSafeInteger(cursor.at);
  }
}

/**
 * Decodes `token` for `list`; undefined for an empty token (the first page).
 *
 * @example
 * const cursor = decodePageToken(req.pageToken, "runs"); // RunsCursor | undefined
 */
export function decodePageToken<L extends Cursor["list"]>(
  token: string,
  list: L,
): Extract<Cursor, { list: L }> | undefined {
  if (token === "") return undefined;
  let cursor: unknown;
  try {
    if (!/^[A-Za-z0-9_-]+$/.test(token)) throw new Error("not base64url");
    cursor = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
  } catch {
    cursor = undefined;
  }
  if (typeof cursor !== "object" || cursor === null || !valid(cursor as Record<string, unknown>, list)) {
    throw new InvalidArgumentError(
      "pageToken",
      "pageToken is not a token this list returned; pass nextPageToken from the previous page, or leave it empty",
    );
  }
  return cursor as Extract<Cursor, { list: L }>;
}

/**
 * Splits a page off rows fetched with `limit: size + 1`: the extra row only shows that there is a
 * next page, whose token points after the page's last row.
 *
 * @example
 * const { page, nextPageToken } = takePage(rows, size, (last) => ({ list: "jobs", id: last.id }));
 */
export function takePage<R>(
  rows: readonly R[],
  size: number,
  cursorOf: (last: R) => Cursor,
): { page: R[]; nextPageToken: string } {
  const page = rows.slice(0, size);
  const last = page.at(-1);
  return { page, nextPageToken: rows.length > size && last !== undefined ? encodePageToken(cursorOf(last)) : "" };
}
