import { readFileSync } from "node:fs";
import type { Subprocess } from "bun";

/** What `kronos serve` logs on stderr once it listens ("kronos is ready"). */
export interface ReadyLine {
  admin: string;
  grpc: number | null;
  metrics: number | null;
  database: string;
  workflows: string[];
}

export interface NodeProcess {
  readonly proc: Subprocess<"ignore", "pipe", "pipe">;
  /** Milliseconds from spawn to the ready line. */
  readonly readyMs: number;
  readonly ready: ReadyLine;
  readonly adminPort: number;
  /** Everything written to stderr and stdout so far (for failure messages). */
  output(): string;
  /** Resident memory of the process in bytes (from /proc). */
  rss(): number;
  /** Sends SIGTERM and resolves with the exit code, or rejects after `timeoutMs`. */
  stop(timeoutMs?: number): Promise<number>;
}

export interface StartOptions {
  cmd: string[];
  cwd: string;
  env?: Record<string, string | undefined>;
  /** Give up waiting for the ready line after this long. */
  timeoutMs?: number;
}

/** Collects a stream's text into `sink`, calling `onLine` for each complete line. */
async function pump(stream: ReadableStream<Uint8Array>, sink: string[], onLine: (line: string) => void) {
  const decoder = new TextDecoder();
  let pending = "";
  for await (const chunk of stream) {
    const text = decoder.decode(chunk, { stream: true });
    sink.push(text);
    pending += text;
    let nl = pending.indexOf("\n");
    while (nl >= 0) {
      onLine(pending.slice(0, nl));
      pending = pending.slice(nl + 1);
      nl = pending.indexOf("\n");
    }
  }
}

/**
 * Starts a `kronos serve` process and resolves once it logs that it is ready (or rejects with its
 * output when it exits first or takes longer than `timeoutMs`).
 */
export async function startNodeProcess(options: StartOptions): Promise<NodeProcess> {
  const started = performance.now();
  const proc = Bun.spawn(options.cmd, {
    cwd: options.cwd,
    env: options.env ?? (process.env as Record<string, string>),
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const chunks: string[] = [];
  const output = () => chunks.join("");
  let onReady: (line: ReadyLine) => void = () => {};
  const readyPromise = new Promise<ReadyLine>((resolve) => {
    onReady = resolve;
  });
  const watch = (line: string) => {
    if (!line.includes('"kronos is ready"')) return;
    try {
      onReady(JSON.parse(line) as ReadyLine);
    } catch {
      // not our JSON line
    }
  };
  void pump(proc.stderr, chunks, watch);
  void pump(proc.stdout, chunks, watch);
  const timeoutMs = options.timeoutMs ?? 30_000;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const ready = await Promise.race([
    readyPromise,
    proc.exited.then((code) => {
      throw new Error(`kronos exited with ${code} before it was ready:\n${output()}`);
    }),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`kronos not ready within ${timeoutMs} ms:\n${output()}`)), timeoutMs);
    }),
  ]).catch((error) => {
    proc.kill("SIGKILL");
    throw error;
  });
  clearTimeout(timer);
  const readyMs = performance.now() - started;
  const adminPort = Number(new URL(ready.admin).port);
  return {
    proc,
    readyMs,
    ready,
    adminPort,
    output,
    rss: () => {
      const status = readFileSync(`/proc/${proc.pid}/status`, "utf8");
      const kb = status.match(/^VmRSS:\s+(\d+) kB/m)?.[1];
      return Number(kb ?? 0) * 1024;
    },
    stop: async (timeoutMs = 15_000) => {
      proc.kill("SIGTERM");
      let stopTimer: ReturnType<typeof setTimeout> | undefined;
      try {
        return await Promise.race([
          proc.exited,
          new Promise<never>((_, reject) => {
            stopTimer = setTimeout(() => {
              proc.kill("SIGKILL");
              reject(new Error(`kronos did not exit within ${timeoutMs} ms of SIGTERM:\n${output()}`));
            }, timeoutMs);
          }),
        ]);
      } finally {
        clearTimeout(stopTimer);
      }
    },
  };
}
