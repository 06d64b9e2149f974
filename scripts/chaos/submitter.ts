// Starting runs over the API of whichever nodes are alive, with an idempotency key each: a start
// whose answer was lost in a kill or an outage is retried on another node without making a second run.
import { ConnectError } from "@connectrpc/connect";
import { codeToString } from "@connectrpc/connect/protocol-connect";
import { createKronosClient, type KronosClient, toValue } from "../../src/client/index.ts";
import type { Fleet } from "./harness.ts";

/** The Connect code of an error thrown by a client call ("unavailable", "invalid_argument"…). */
export function errorCode(error: unknown): string {
  if (error instanceof ConnectError) return codeToString(error.code);
  return error instanceof Error ? error.name : "unknown";
}

export interface Started {
  runId: string;
  /** How many calls it took (more than 1 when a node died under the call or the database was away). */
  attempts: number;
  /** Latency of the call that succeeded (ms). */
  ms: number;
  /** When it succeeded (performance.now()). */
  at: number;
  deduplicated: boolean;
}

/**
 * Starts runs through the API of whichever nodes are alive. A failed call is retried on another
 * node with the same idempotency key until `deadlineMs`; the codes of failed calls are counted.
 */
export class Submitter {
  readonly started = new Map<string, Started>();
  readonly failedCalls = new Map<string, number>();
  /** Keys that could not be started before the deadline. */
  readonly gaveUp: string[] = [];
  readonly #clients = new Map<number, KronosClient>();

  constructor(
    private readonly fleet: Fleet,
    private readonly workflowName: string,
    private readonly deadlineMs = 90_000,
  ) {}

  #client(port: number): KronosClient {
    let client = this.#clients.get(port);
    if (!client) {
      client = createKronosClient(`http://127.0.0.1:${port}`);
      this.#clients.set(port, client);
    }
    return client;
  }

  async start(key: string, input: unknown): Promise<Started | undefined> {
    const deadline = Date.now() + this.deadlineMs;
    let attempts = 0;
    while (Date.now() < deadline) {
      const member = this.fleet.pick();
      if (!member) {
        await Bun.sleep(100);
        continue;
      }
      attempts++;
      const t0 = performance.now();
      try {
        const res = await this.#client(member.node.adminPort).startWorkflow(
          { workflowName: this.workflowName, input: toValue(input as never), idempotencyKey: key },
          { timeoutMs: 15_000 },
        );
        const at = performance.now();
        const started = { runId: res.run?.id as string, attempts, ms: at - t0, at, deduplicated: res.deduplicated };
        this.started.set(key, started);
        return started;
      } catch (error) {
        const code = errorCode(error);
        this.failedCalls.set(code, (this.failedCalls.get(code) ?? 0) + 1);
        await Bun.sleep(50 + Math.random() * 100);
      }
    }
    this.gaveUp.push(key);
    return undefined;
  }

  /** Starts every item with at most `concurrency` calls in flight, paced to `perSecond` if given. */
  async startAll(
    items: readonly { key: string; input: unknown }[],
    o: { concurrency: number; perSecond?: number; stop?: () => boolean },
  ): Promise<void> {
    let next = 0;
    const t0 = performance.now();
    const lane = async () => {
      while (next < items.length && !o.stop?.()) {
        const i = next++;
        if (o.perSecond) {
          const due = t0 + (i * 1000) / o.perSecond;
          const wait = due - performance.now();
          if (wait > 0) await Bun.sleep(wait);
        }
        const item = items[i] as { key: string; input: unknown };
        await this.start(item.key, item.input);
      }
    };
    await Promise.all(Array.from({ length: o.concurrency }, lane));
  }

  failedCallsTotal(): number {
    return [...this.failedCalls.values()].reduce((a, b) => a + b, 0);
  }
}
