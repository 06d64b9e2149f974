/**
 * The first thing the bundle runs: for a deep link to a run, GetRun and GetRunEvents go out as
 * plain Connect requests (binary protobuf over fetch) before the rest of the bundle is even
 * evaluated, so the network and the start-up overlap. Only the token reader is loaded first.
 * Anything unusual (an error, a 401) is left to the ordinary client, which reports it.
 */
import { auth } from "./auth.ts";

const early = new Map<string, Promise<Uint8Array | undefined>>();

/** A request with one string field (field 1, `run_id`), in protobuf's binary form. */
function runIdRequest(runId: string): Uint8Array {
  const id = new TextEncoder().encode(runId);
  return new Uint8Array([0x0a, id.length, ...id]);
}

/** The run a deep link (/debugger/runs/<id>) opens, if the page is one. */
export function deepLinkedRun(): string | undefined {
  return /^\/debugger\/runs\/([0-9a-fA-F-]{36})\/?$/.exec(location.pathname)?.[1];
}

export function startEarlyRequests(): void {
  const runId = deepLinkedRun();
  if (!runId) return;
  const headers: Record<string, string> = { "content-type": "application/proto", "connect-protocol-version": "1" };
  if (auth.token) headers.authorization = `Bearer ${auth.token}`;
  for (const [key, method] of [
    ["run", "GetRun"],
    ["events", "GetRunEvents"],
  ] as const) {
    const body = runIdRequest(runId);
    early.set(
      `${key}:${runId}`,
      fetch(`/kronos.v1.KronosService/${method}`, { method: "POST", headers, body: body as Uint8Array<ArrayBuffer> })
        .then(async (res) =>
          res.ok && res.headers.get("content-type") === "application/proto"
            ? new Uint8Array(await res.arrayBuffer())
            : undefined,
        )
        .catch(() => undefined),
    );
  }
}

/** The early answer for `key` ("run:<id>" or "events:<id>"), undefined when there is none or it failed. */
export function earlyAnswer(key: string): Promise<Uint8Array | undefined> {
  return early.get(key) ?? Promise.resolve(undefined);
}
