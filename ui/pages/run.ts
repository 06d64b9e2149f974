/**
 * One run: its header (status, parent and forks, cancel), the timeline scrubber, the step graph
 * and the inspector. What the graph and inspector show is the run replayed from its event log up
 * to the timeline's position; "live" follows new events from the server's event stream.
 */
import { html } from "htm/preact";
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from "preact/hooks";
import type { GetRunResponse } from "../../src/gen/kronos/v1/kronos_pb.ts";
import { errorText, isNotFound, kronos } from "../api.ts";
import { ErrorBox, Loading } from "../components/bits.ts";
import { Inspector } from "../components/inspector.ts";
import { RunHeader } from "../components/run-header.ts";
import { StepGraph } from "../components/step-graph.ts";
import { Timeline } from "../components/timeline.ts";
import { useAsync, useNow, useThrottled, useTitle } from "../hooks.ts";
import { indexAtOrBefore, runAt } from "../lib/derive.ts";
import { shortId } from "../lib/format.ts";
import { runState } from "../lib/runs.ts";
import { take, takeReady } from "../prefetch.ts";
import { Link, navigate, type Route, setQuery } from "../router.ts";
import { useRunEvents } from "../run-events.ts";

/** Events that change what GetRun returns (outputs, statuses): the run is read again after them. */
const RELOADS = new Set(["step_completed", "step_failed", "run_completed", "run_failed", "run_cancelled"]);

export function RunPage(props: { id: string; route: Route }) {
  const { id } = props;
  useTitle(`Run ${shortId(id)}`);
  const runQ = useAsync(
    (signal) => take(`run:${id}`, () => kronos.getRun({ runId: id }, { signal })),
    [id],
    () => takeReady<GetRunResponse>(`run:${id}`),
  );
  const forksQ = useAsync((signal) => kronos.listRuns({ parentRunId: id, pageSize: 100 }, { signal }), [id]);
  const reloadRun = useThrottled(runQ.reload, 400);
  const reloadForks = useThrottled(forksQ.reload, 400);
  const {
    events,
    error: eventsError,
    stream,
  } = useRunEvents(id, (fresh) => {
    if (fresh.some((e) => RELOADS.has(e.type))) reloadRun();
    if (fresh.some((e) => e.type === "run_forked")) reloadForks();
  });

  // Position: undefined follows the newest event ("live"); a seq pins the timeline there.
  const atParam = props.route.query.get("at");
  const [pinned, setPinned] = useState<number | undefined>(atParam ? Number(atParam) : undefined);
  const [selected, setSelected] = useState<string | undefined>(props.route.query.get("step") ?? undefined);
  // Mirror position and selection in the URL (replaced, not pushed; once the scrubbing settles,
  // or at once when the page is left or reloaded).
  useEffect(() => {
    const write = () => setQuery({ at: pinned === undefined ? undefined : String(pinned), step: selected });
    const t = setTimeout(write, 200);
    window.addEventListener("pagehide", write);
    return () => {
      clearTimeout(t);
      window.removeEventListener("pagehide", write);
    };
  }, [pinned, selected]);

  const data = runQ.data;
  const steps = useMemo(() => (data?.steps ?? []).map((s) => ({ name: s.name, after: s.after })), [data?.steps]);
  const stepNames = useMemo(() => steps.map((s) => s.name), [steps]);
  const lastSeq = events?.at(-1)?.seq ?? 0;
  const position = pinned === undefined ? lastSeq : Math.min(pinned, lastSeq);
  const index = events ? Math.max(0, indexAtOrBefore(events, position)) : 0;
  const seq = events?.[index]?.seq ?? 0;
  const state = useMemo(() => runAt(stepNames, events ?? [], seq), [stepNames, events, seq]);

  // GetRun and the event log are read separately: when the log is ahead of the run (it already has
  // the run's end, or a step's completion whose output GetRun did not have), read the run again.
  const behind = useRef(0);
  useEffect(() => {
    if (!data?.run || !events) return;
    const now = pinned === undefined ? state : runAt(stepNames, events, lastSeq);
    const ended = now.state !== "running" && now.state !== "pending";
    const stale =
      (ended && runState(data.run) === "running") ||
      data.steps.some((s) => {
        const st = now.steps.get(s.name)?.state;
        return (st === "completed" || st === "reused") && s.output === undefined;
      });
    if (!stale) behind.current = 0;
    else if (behind.current++ < 10) reloadRun();
  }, [data, events, lastSeq, pinned, state, stepNames, reloadRun]);

  const [forking, setForking] = useState(false);
  const [forkError, setForkError] = useState<string | undefined>(undefined);
  const fork = (step: string) => {
    setForking(true);
    setForkError(undefined);
    kronos.forkRun({ runId: id, fromStep: step }).then(
      (res) => {
        setForking(false);
        if (res.run) navigate(`/runs/${res.run.id}`);
      },
      (e: unknown) => {
        setForking(false);
        setForkError(errorText(e));
      },
    );
  };

  // Time to first render, for the benchmark: marked once the graph and timeline are in the DOM.
  const rendered = useRef(false);
  // kronos:run-data when both answers are in, kronos:run-rendered once the page is in the DOM,
  // kronos:run-painted after the next frame (style, layout and paint done).
  const ready = Boolean(data && events);
  if (ready && !rendered.current && performance.getEntriesByName("kronos:run-data").length === 0) {
    performance.mark("kronos:run-data");
  }
  useLayoutEffect(() => {
    if (!ready || rendered.current) return;
    rendered.current = true;
    performance.mark("kronos:run-rendered");
    document.documentElement.dataset.runRendered = id;
    requestAnimationFrame(() => setTimeout(() => performance.mark("kronos:run-painted")));
  }, [ready, id]);

  // Following a run in progress, running steps count up with the clock, not with the last event.
  const following = pinned === undefined && data?.run !== undefined && runState(data.run) === "running";
  const now = useNow(1_000, following);

  if (runQ.error && !data) {
    return html`<div class="page">
      <h1>Run ${shortId(id)}</h1>
      ${isNotFound(runQ.error) ? html`<p>There is no run with id <code>${id}</code>.</p>` : html`<${ErrorBox} error=${runQ.error} onRetry=${runQ.reload} />`}
      <p><${Link} href="/">← All runs</${Link}></p>
    </div>`;
  }
  if (eventsError) return html`<div class="page"><${ErrorBox} error=${eventsError} /></div>`;
  if (!data?.run || !events) return html`<div class="page"><${Loading} what="the run" /></div>`;
  const run = data.run;
  const running = runState(run) === "running";
  const selectedStep = selected ? data.steps.find((s) => s.name === selected) : undefined;
  const forks = (forksQ.data?.runs ?? []).map((r) => ({ id: r.id, step: r.forkedFromStep, state: runState(r) }));
  const jump = (target: number) => setPinned(target >= lastSeq && running ? undefined : target);
  return html`<div class="page run-page" data-run=${id}>
    <${RunHeader} data=${data} forks=${forks} onCancelled=${runQ.reload} />
    <${Timeline}
      events=${events}
      index=${index}
      live=${pinned === undefined}
      running=${running}
      onIndex=${(i: number) => setPinned(events[i]?.seq)}
      onLive=${() => setPinned(undefined)}
    />
    ${stream !== "open" && running && html`<p class="muted small" role="status">Live updates: ${stream}…</p>`}
    <div class="run-panes">
      <section class="pane pane-graph" aria-label="Steps">
        <h2 class="pane-title">Steps <span class="muted">at #${seq}</span></h2>
        <${StepGraph}
          steps=${steps}
          states=${state.steps}
          at=${following ? Math.max(now, state.at ?? 0) : state.at}
          selected=${selected}
          onSelect=${setSelected}
        />
      </section>
      <section class="pane pane-inspector" aria-label="Inspector">
        <${Inspector}
          run=${run}
          step=${selectedStep}
          at=${selected ? state.steps.get(selected) : undefined}
          runAt=${state}
          events=${events}
          onJump=${jump}
          onFork=${fork}
          onClose=${() => setSelected(undefined)}
          forking=${forking}
          forkError=${forkError}
        />
      </section>
    </div>
  </div>`;
}
