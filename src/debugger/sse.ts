/**
 * Server-Sent Events responses. The debugger reads them with fetch (not EventSource), so they
 * can carry the Authorization header like every other call, and no token ever goes in a URL.
 */

export interface SseSink {
  /** Sends one message; `data` is sent as JSON. Ignored once the client is gone. */
  send(event: string, data: unknown, id?: number): void;
  readonly closed: boolean;
}

/** A comment every so often, for proxies that close idle connections (Bun's own limit is lifted). */
const KEEPALIVE_TICKS = 8;

export interface SseOptions {
  /** Checked every second: the stream ends once it returns true (the node is shutting down). */
  stopWhen?: () => boolean;
  onError?: (error: unknown) => void;
}

/**
 * A text/event-stream response. `start` begins producing (it may send at once) and returns what
 * to call when the client hangs up or the server closes the stream.
 */
export function sseResponse(
  signal: AbortSignal,
  start: (sink: SseSink) => Promise<(() => void) | undefined>,
  options: SseOptions = {},
): Response {
  const encoder = new TextEncoder();
  let controller: ReadableStreamDefaultController<Uint8Array> | undefined;
  let cleanup: (() => void) | undefined;
  let ticker: ReturnType<typeof setInterval> | undefined;
  let ticks = 0;
  let closed = false;
  const write = (text: string) => {
    if (closed || !controller) return;
    try {
      controller.enqueue(encoder.encode(text));
    } catch {
      close();
    }
  };
  const close = () => {
    if (closed) return;
    closed = true;
    clearInterval(ticker);
    signal.removeEventListener("abort", close);
    cleanup?.();
    try {
      controller?.close();
    } catch {
      // already closed by the client
    }
  };
  const sink: SseSink = {
    send: (event, data, id) =>
      write(`event: ${event}\n${id === undefined ? "" : `id: ${id}\n`}data: ${JSON.stringify(data)}\n\n`),
    get closed() {
      return closed;
    },
  };
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
      write("retry: 2000\n\n");
      ticker = setInterval(() => {
        if (options.stopWhen?.()) close();
        else if (++ticks % KEEPALIVE_TICKS === 0) write(": keepalive\n\n");
      }, 1_000);
      signal.addEventListener("abort", close);
      // Not awaited: the response starts flowing while `start` reads history.
      start(sink).then(
        (stop) => {
          cleanup = stop;
          if (closed) stop?.();
        },
        (error: unknown) => {
          options.onError?.(error);
          sink.send("error", { message: error instanceof Error ? error.message : String(error) });
          close();
        },
      );
    },
    cancel: close,
  });
  return new Response(body, {
    headers: {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store",
      "x-accel-buffering": "no",
    },
  });
}
