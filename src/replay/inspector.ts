import { spawn } from "node:child_process";

/** Set in the relaunched process so it knows its inspector is open, and where. */
const INSPECTOR_URL_ENV = "KRONOS_REPLAY_INSPECTOR_URL";

export function inspectorUrl(): string | undefined {
  return process.env[INSPECTOR_URL_ENV];
}

/**
 * Bun opens its inspector only at start-up (BUN_INSPECT), so `--break-at` runs the same command
 * again in a child process with the inspector open, and passes its exit code on. With `wait`, the
 * child waits for a debugger to attach before it runs anything.
 */
export function relaunchWithInspector(o: { host: string; port: number; wait: boolean }): Promise<number> {
  const url = `ws://${o.host}:${o.port}/kronos-replay`;
  const compiled = process.argv[1]?.startsWith("/$bunfs/") ?? false;
  const args = compiled ? process.argv.slice(2) : process.argv.slice(1);
  const child = spawn(process.execPath, args, {
    stdio: "inherit",
    env: {
      ...process.env,
      BUN_INSPECT: `${o.host}:${o.port}/kronos-replay${o.wait ? "?wait=1" : ""}`,
      [INSPECTOR_URL_ENV]: url,
    },
  });
  return new Promise((resolve) => child.on("exit", (code, signal) => resolve(code ?? (signal ? 1 : 0))));
}

/** Tells the user where to attach and waits for Enter (when stdin can give one). */
export async function announceBreak(
  step: string,
  o: { waitForEnter: boolean; write(line: string): void },
): Promise<void> {
  const url = inspectorUrl() ?? "(inspector not open)";
  o.write(`[replay] BREAK before step "${step}": pid=${process.pid}, inspector ${url}`);
  o.write(
    `[replay] attach VS Code (Bun extension, "attach" to ${url}) or open https://debug.bun.sh/#${url.replace(/^ws:\/\//, "")}`,
  );
  if (!o.waitForEnter) return;
  o.write("[replay] press Enter to run the step");
  await new Promise<void>((resolve) => {
    const onData = (chunk: Buffer) => {
      if (chunk.includes(10)) {
        process.stdin.off("data", onData);
        process.stdin.pause();
        resolve();
      }
    };
    process.stdin.on("data", onData);
    process.stdin.on("end", resolve);
    process.stdin.resume();
  });
}
