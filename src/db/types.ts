import type { SqlQuery } from "./sql.ts";

export type Row = Record<string, unknown>;

/** Anything statements can run on: a pool, a transaction or a reserved connection. */
export interface Queryable {
  query<T = Row>(statement: SqlQuery): Promise<T[]>;
}

/** A single connection held apart from the pool (session-level advisory locks live on it). */
export interface ReservedConnection extends Queryable {
  release(): Promise<void>;
}

export type Backend = "postgres" | "pglite";

/** One database, whichever engine is behind it. Store functions only ever see `Queryable`. */
export interface Database extends Queryable {
  readonly backend: Backend;
  /** Runs `fn` in a transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /** Runs a script of several statements (migrations only). */
  exec(script: string): Promise<void>;
  /** Calls `onMessage` for every NOTIFY on `channel`; resolves to a function that stops listening. */
  listen(channel: string, onMessage: (payload: string) => void): Promise<() => Promise<void>>;
  reserve(): Promise<ReservedConnection>;
  close(): Promise<void>;
}
