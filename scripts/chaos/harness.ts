// What every chaos scenario stands on: a throwaway PostgreSQL server, a fresh migrated database per
// scenario, and a fleet of real `kronos serve` processes that can be killed and replaced.
import { randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { type Database, migrate, openPostgres, staticSql } from "../../src/db/index.ts";
import { type LocalPostgres, startLocalPostgres } from "../../src/db/local-server.ts";
import { type NodeProcess, spawnNode } from "../../tests/support/node-process.ts";

export const FIXTURES = resolve(import.meta.dir, "fixtures");
export const PIPELINE = join(FIXTURES, "pipeline.ts");
export const CRON = join(FIXTURES, "cron.ts");

let shared: Promise<LocalPostgres> | undefined;
const owned: LocalPostgres[] = [];

/** The chaos PostgreSQL server of this process (started on first use). */
export function chaosServer(): Promise<LocalPostgres> {
  shared ??= ownServer();
  return shared;
}

/**
 * A server of its own (scenario 2 restarts it). Removed by closeChaosServers(), or at exit: a
 * script's exit, since `bun test` does not fire "exit" listeners (tests call closeChaosServers).
 */
export async function ownServer(): Promise<LocalPostgres> {
  const server = await startLocalPostgres();
  owned.push(server);
  process.once("exit", () => server.destroy());
  return server;
}

/** Stops and removes every server this process started for chaos runs. */
export function closeChaosServers(): void {
  for (const server of owned.splice(0)) server.destroy();
  shared = undefined;
}

export interface ScenarioDatabase {
  readonly url: string;
  /** A small pool for the scenario's own checks and sampling. */
  readonly db: Database;
  drop(): Promise<void>;
}

/** A new migrated database on `server`, for one scenario. */
export async function freshDatabase(server: LocalPostgres, label: string): Promise<ScenarioDatabase> {
  const name = `chaos_${label}_${randomUUID().replaceAll("-", "").slice(0, 8)}`;
  const admin = openPostgres({ url: server.url, max: 1 });
  await admin.query(staticSql(`CREATE DATABASE ${name}`));
  await admin.close();
  const url = server.urlFor(name);
  const db = openPostgres({ url, max: 4 });
  await migrate(db);
  return {
    url,
    db,
    drop: async () => {
      await db.close();
      const a = openPostgres({ url: server.url, max: 1 });
      await a.query(staticSql(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).catch(() => {});
      await a.close();
    },
  };
}

/** A temp directory the fixtures write their invocation records into. */
export function recordDir(): string {
  return mkdtempSync(join(tmpdir(), "kronos-chaos-"));
}

export interface Member {
  readonly slot: number;
  readonly nodeId: string;
  readonly node: NodeProcess;
  readonly startedAt: number;
  /** Set before the harness signals it, so its exit is not counted as a crash. */
  expectingExit: boolean;
  exit?: { code: number; at: number };
}

export interface FleetOptions {
  url: string;
  size: number;
  workflows: string[];
  label: string;
  recordDir: string;
  env?: Record<string, string>;
}

/** What every chaos node gets unless a scenario says otherwise. */
export const NODE_DEFAULTS: Record<string, string> = {
  WORKER_CONCURRENCY: "16",
  SCHEDULER_BATCH_SIZE: "16",
  KRONOS_LEASE: "2s",
  SCHEDULER_POLL_INTERVAL: "500ms",
  KRONOS_LEADER_CHECK: "500ms",
  KRONOS_SHUTDOWN_GRACE: "3s",
  KRONOS_RETENTION: "off",
};

/**
 * A fixed number of node slots; each holds one live `kronos serve` process at a time. Killing a
 * slot's process and spawning a new one in it keeps the fleet at its size. Every exit the harness
 * did not cause is a crash.
 */
export class Fleet {
  readonly slots: (Member | undefined)[];
  /** Every process the fleet ever ran, in start order. */
  readonly history: Member[] = [];
  readonly crashes: { nodeId: string; code: number; tail: string[] }[] = [];
  #generation = 0;

  constructor(readonly o: FleetOptions) {
    this.slots = new Array(o.size).fill(undefined);
  }

  async start(): Promise<void> {
    await Promise.all(this.slots.map((_, i) => this.spawn(i)));
  }

  async spawn(slot: number, env: Record<string, string> = {}): Promise<Member> {
    const nodeId = `${this.o.label}-n${slot}-g${++this.#generation}`;
    const node = await spawnNode({
      databaseUrl: this.o.url,
      workflows: this.o.workflows,
      env: { ...NODE_DEFAULTS, ...this.o.env, ...env, KRONOS_NODE_ID: nodeId, CHAOS_RECORD_DIR: this.o.recordDir },
    });
    const member: Member = { slot, nodeId, node, startedAt: Date.now(), expectingExit: false };
    void node.exited.then((code) => {
      member.exit = { code, at: Date.now() };
      if (!member.expectingExit) {
        const tail = node.logs.slice(-5).map((l) => JSON.stringify(l));
        this.crashes.push({ nodeId, code, tail });
      }
      if (this.slots[slot] === member) this.slots[slot] = undefined;
    });
    this.slots[slot] = member;
    this.history.push(member);
    return member;
  }

  live(): Member[] {
    return this.slots.filter((m): m is Member => m !== undefined && m.exit === undefined);
  }

  /** A live member at random (or undefined when none is up). */
  pick(random: () => number = Math.random): Member | undefined {
    const live = this.live();
    return live[Math.floor(random() * live.length)];
  }

  /** Signals a member and waits for it to exit; returns the exit code and how long that took. */
  async signal(member: Member, signal: NodeJS.Signals): Promise<{ code: number; ms: number }> {
    member.expectingExit = true;
    const sent = performance.now();
    member.node.kill(signal);
    const code = await member.node.exited;
    return { code, ms: performance.now() - sent };
  }

  /** Resident memory of a live member in MiB, from /proc (undefined once it is gone). */
  rssMiB(member: Member): number | undefined {
    try {
      const status = readFileSync(`/proc/${member.node.proc.pid}/status`, "utf8");
      const kb = Number(status.match(/^VmRSS:\s+(\d+)\s+kB/m)?.[1]);
      return Number.isFinite(kb) ? kb / 1024 : undefined;
    } catch {
      return undefined;
    }
  }

  /** Log lines at `level` (or with `msg`) from every process the fleet ran. */
  logs(filter: { level?: string; msg?: string }): Record<string, unknown>[] {
    return this.history.flatMap((m) =>
      m.node.logs.filter((l) => (!filter.level || l.level === filter.level) && (!filter.msg || l.msg === filter.msg)),
    );
  }

  /** SIGTERMs every live member and waits (SIGKILL after `timeoutMs`). */
  async stop(timeoutMs = 15_000): Promise<void> {
    await Promise.all(
      this.live().map(async (m) => {
        m.expectingExit = true;
        m.node.kill("SIGTERM");
        const timer = setTimeout(() => m.node.kill("SIGKILL"), timeoutMs);
        await m.node.exited;
        clearTimeout(timer);
      }),
    );
  }

  /** Kills every process still alive, at once (cleanup after a failure). */
  async destroy(): Promise<void> {
    const left = this.history.filter((m) => m.exit === undefined);
    for (const m of left) {
      m.expectingExit = true;
      m.node.kill("SIGKILL");
    }
    await Promise.all(left.map((m) => m.node.exited));
  }
}

/** Resolves once `check` holds (polling every `everyMs`), or returns false after `timeoutMs`. */
export async function until(
  check: () => boolean | Promise<boolean>,
  { timeoutMs, everyMs = 200 }: { timeoutMs: number; everyMs?: number },
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return true;
    } catch {
      // the database may be away (scenario 2): keep asking
    }
    if (Date.now() > deadline) return false;
    await Bun.sleep(everyMs);
  }
}

/** A small seeded PRNG (mulberry32), so a scenario's random choices can be replayed. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
