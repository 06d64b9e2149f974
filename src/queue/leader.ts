import type { Database, ReservedConnection } from "../db/index.ts";
import type { Logger } from "../log.ts";
import * as nodes from "../store/nodes.ts";

/** Advisory lock key held by the leader for as long as its connection lives. */
export const LEADER_LOCK = 727_002;

export interface LeaderOptions {
  db: Database;
  log: Logger;
  onElected(): void | Promise<void>;
  onDemoted(): void | Promise<void>;
}

/**
 * Leader election on a session advisory lock held on a dedicated connection: when the leader's
 * process dies its session ends, the lock frees, and the next follower's `runOnce` takes it.
 * The leader pings its connection each pass and steps down the moment it is gone.
 */
export class LeaderElector {
  #conn: ReservedConnection | undefined;
  #leader = false;

  constructor(private readonly o: LeaderOptions) {}

  get isLeader(): boolean {
    return this.#leader;
  }

  async runOnce(): Promise<boolean> {
    if (this.#leader && this.#conn) {
      try {
        await nodes.ping(this.#conn);
        return true;
      } catch (error) {
        this.o.log.warn("lost the leader lock's connection; stepping down", { error: String(error) });
        await this.#stepDown();
      }
    }
    let conn: ReservedConnection | undefined;
    try {
      conn = await this.o.db.reserve();
      if (await nodes.tryLeaderLock(conn, { key: LEADER_LOCK })) {
        this.#conn = conn;
        this.#leader = true;
        this.o.log.info("became leader");
        await this.o.onElected();
        return true;
      }
    } catch (error) {
      this.o.log.warn("leader election pass failed", { error: String(error) });
    }
    await conn?.release().catch(() => {});
    return false;
  }

  async #stepDown(): Promise<void> {
    this.#leader = false;
    const conn = this.#conn;
    this.#conn = undefined;
    await this.o.onDemoted();
    await conn?.release().catch(() => {});
  }

  /** Gives up leadership (shutdown): unlocks so another node takes over at its next pass. */
  async resign(): Promise<void> {
    if (!this.#leader || !this.#conn) return;
    await nodes.releaseLeaderLock(this.#conn, { key: LEADER_LOCK }).catch(() => {});
    await this.#stepDown();
  }
}
