/** A run's event log in the page: read once over the API, then extended from the event stream. */
import { useEffect, useRef, useState } from "preact/hooks";
import type { GetRunEventsResponse } from "../src/gen/kronos/v1/kronos_pb.ts";
import { kronos } from "./api.ts";
import { useAuth } from "./auth.ts";
import { fromJsonEvent, fromProtoEvent, type RunEvent } from "./lib/events.ts";
import { take, takeReady } from "./prefetch.ts";
import { openStream, type StreamState } from "./sse.ts";

/** The run's event log: loaded once, then extended from the event stream. */
export function useRunEvents(runId: string, onNew: (fresh: RunEvent[]) => void) {
  const { epoch } = useAuth();
  // Events fetched before the first render (a deep link) are used at once.
  const [events, setEvents] = useState<RunEvent[] | undefined>(() =>
    takeReady<GetRunEventsResponse>(`events:${runId}`)?.events.map(fromProtoEvent),
  );
  const initial = useRef(events);
  const [error, setError] = useState<unknown>(undefined);
  const [stream, setStream] = useState<StreamState>("connecting");
  const onNewRef = useRef(onNew);
  onNewRef.current = onNew;
  useEffect(() => {
    let last = 0;
    let close: (() => void) | undefined;
    const abort = new AbortController();
    const follow = () => {
      close = openStream(() => `/debugger/api/runs/${encodeURIComponent(runId)}/events?after=${last}`, {
        onState: setStream,
        onMessage: (name, data) => {
          if (name !== "events" || !Array.isArray(data)) return;
          const fresh = data.map(fromJsonEvent).filter((e) => e.seq > last);
          if (fresh.length === 0) return;
          last = (fresh.at(-1) as RunEvent).seq;
          setEvents((prev) => [...(prev ?? []), ...fresh]);
          onNewRef.current(fresh);
        },
      });
    };
    const ready = initial.current;
    initial.current = undefined;
    if (ready) {
      last = ready.at(-1)?.seq ?? 0;
      follow();
    } else {
      setEvents(undefined);
      setError(undefined);
      take(`events:${runId}`, () => kronos.getRunEvents({ runId }, { signal: abort.signal })).then(
        (res) => {
          if (abort.signal.aborted) return;
          const loaded = res.events.map(fromProtoEvent);
          last = loaded.at(-1)?.seq ?? 0;
          setEvents(loaded);
          follow();
        },
        (e: unknown) => {
          if (!abort.signal.aborted) setError(e);
        },
      );
    }
    return () => {
      abort.abort();
      close?.();
    };
  }, [runId, epoch]);
  return { events, error, stream };
}
