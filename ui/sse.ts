/**
 * Server-Sent Events read with fetch, so the Authorization header goes with them (EventSource
 * cannot send headers, and a token in the URL would end up in logs). Reconnects by itself, with
 * the URL built afresh each time (so it can say where to resume).
 */
import { authHeaders } from "./api.ts";
import { auth } from "./auth.ts";

export type StreamState = "connecting" | "open" | "retrying" | "unauthorized";

export interface StreamHandlers {
  onMessage(event: string, data: unknown): void;
  onState?(state: StreamState): void;
}

function parseFrame(frame: string): { event: string; data: string } | undefined {
  let event = "message";
  const data: string[] = [];
  for (const line of frame.split("\n")) {
    if (line === "" || line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "event") event = value;
    else if (field === "data") data.push(value);
  }
  return data.length > 0 ? { event, data: data.join("\n") } : undefined;
}

/** Opens the stream at `url()`; call the returned function to close it for good. */
export function openStream(url: () => string, handlers: StreamHandlers): () => void {
  const stop = new AbortController();
  let delay = 500;
  const setState = (s: StreamState) => handlers.onState?.(s);
  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      stop.signal.addEventListener("abort", () => {
        clearTimeout(t);
        resolve();
      });
    });
  const untilAuthChanges = () =>
    new Promise<void>((resolve) => {
      const epoch = auth.state.epoch;
      const off = auth.subscribe(() => {
        if (auth.state.epoch !== epoch) {
          off();
          resolve();
        }
      });
      stop.signal.addEventListener("abort", () => {
        off();
        resolve();
      });
    });

  void (async () => {
    setState("connecting");
    while (!stop.signal.aborted) {
      try {
        const res = await fetch(url(), { headers: authHeaders({ accept: "text/event-stream" }), signal: stop.signal });
        if (res.status === 401) {
          setState("unauthorized");
          auth.demand();
          await untilAuthChanges();
          continue;
        }
        if (!res.ok || !res.body) throw new Error(`${res.status}`);
        setState("open");
        delay = 500;
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value.replace(/\r\n?/g, "\n");
          let end = buffer.indexOf("\n\n");
          while (end >= 0) {
            const frame = parseFrame(buffer.slice(0, end));
            buffer = buffer.slice(end + 2);
            if (frame) {
              try {
                handlers.onMessage(frame.event, JSON.parse(frame.data));
              } catch (error) {
                console.error("debugger: bad stream message", error);
              }
            }
            end = buffer.indexOf("\n\n");
          }
        }
      } catch {
        // network error or server gone: retry below
      }
      if (stop.signal.aborted) break;
      setState("retrying");
      await pause(delay);
      delay = Math.min(5_000, delay * 2);
    }
  })();
  return () => stop.abort();
}
