/**
 * The timeline scrubber: every event of the run as a tick on a time axis (or evenly spaced, when
 * many events share a moment). Click or drag to move to the nearest event; arrow keys step one
 * event, Page keys ten, Home and End go to either end. "Live" follows new events as they come.
 */
import { html } from "htm/preact";
import { useMemo, useRef, useState } from "preact/hooks";
import type { RunEvent } from "../lib/events.ts";
import { kindLabel } from "../lib/events.ts";
import { clock, duration } from "../lib/format.ts";
import { FirstIcon, LastIcon, NextIcon, PrevIcon } from "./icons.ts";

export interface TimelineProps {
  events: readonly RunEvent[];
  /** Index in `events` of the position shown. */
  index: number;
  /** Following the newest event. */
  live: boolean;
  /** Whether more events can still come (the run is in progress). */
  running: boolean;
  onIndex(index: number): void;
  onLive(): void;
}

type Axis = "time" | "sequence";

/** Positions (0..1) of events on the axis; times never go backwards (transactions commit out of order). */
function positions(events: readonly RunEvent[], axis: Axis): number[] {
  const n = events.length;
  if (n <= 1) return events.map(() => 0);
  if (axis === "sequence") return events.map((_, i) => i / (n - 1));
  const times: number[] = [];
  for (const e of events) times.push(Math.max(e.at, times.at(-1) ?? e.at));
  const t0 = times[0] as number;
  const span = (times.at(-1) as number) - t0;
  return span <= 0 ? events.map((_, i) => i / (n - 1)) : times.map((t) => (t - t0) / span);
}

/** Index of the event nearest `x` (the latest of several at the same place). */
function nearest(xs: readonly number[], x: number): number {
  let lo = 0;
  let hi = xs.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if ((xs[mid] as number) <= x) lo = mid;
    else hi = mid - 1;
  }
  const next = lo + 1 < xs.length ? lo + 1 : lo;
  if (Math.abs((xs[next] as number) - x) < Math.abs((xs[lo] as number) - x)) lo = next;
  while (lo + 1 < xs.length && xs[lo + 1] === xs[lo]) lo++;
  return lo;
}

/** Tick heights by kind: run-level events tallest, failures taller than the rest, scheduling shortest. */
const TICK: Partial<Record<RunEvent["type"], [number, number]>> = {
  run_started: [4, 28],
  run_completed: [4, 28],
  run_failed: [4, 28],
  run_cancelled: [4, 28],
  run_forked: [4, 28],
  step_failed: [7, 22],
  step_scheduled: [13, 10],
};

/**
 * Every event as a tick: one SVG path per kind of event (a thousand styled elements would cost
 * more to lay out than the rest of the page).
 */
function Ticks(props: { events: readonly RunEvent[]; xs: readonly number[] }) {
  const paths = useMemo(() => {
    const byKind = new Map<string, string>();
    props.events.forEach((e, i) => {
      const [y, h] = TICK[e.type] ?? [10, 16];
      byKind.set(e.type, `${byKind.get(e.type) ?? ""}M${Math.round((props.xs[i] ?? 0) * 10_000)} ${y}v${h}`);
    });
    return [...byKind].map(([kind, d]) => html`<path key=${kind} class=${`t-${kind}`} d=${d} />`);
  }, [props.events, props.xs]);
  return html`<svg class="tl-ticks" viewBox="0 0 10000 36" preserveAspectRatio="none" aria-hidden="true" focusable="false">${paths}</svg>`;
}

export function describe(e: RunEvent | undefined): string {
  if (!e) return "no events yet";
  const who = e.step ? ` ${e.step}` : "";
  const attempt = e.attempt > 0 && e.step ? ` (attempt ${e.attempt})` : "";
  return `${kindLabel(e.type)}${who}${attempt}`;
}

export function Timeline(p: TimelineProps) {
  const [axis, setAxis] = useState<Axis>("time");
  const track = useRef<HTMLDivElement>(null);
  const dragging = useRef(false);
  const xs = useMemo(() => positions(p.events, axis), [p.events, axis]);
  const n = p.events.length;
  const current = p.events[p.index];
  const first = p.events[0];
  const last = p.events.at(-1);
  const go = (i: number) => {
    if (n === 0) return;
    const clamped = Math.max(0, Math.min(n - 1, i));
    if (clamped === n - 1 && p.running) p.onLive();
    else p.onIndex(clamped);
  };
  const fromPointer = (e: PointerEvent) => {
    const rect = track.current?.getBoundingClientRect();
    if (!rect || n === 0) return;
    // The last pixels at either end mean "the very start" and "the very end".
    const px = e.clientX - rect.left;
    const i = px <= 3 ? 0 : px >= rect.width - 3 ? n - 1 : nearest(xs, px / rect.width);
    if (i !== p.index) p.onIndex(i);
  };
  const onKeyDown = (e: KeyboardEvent) => {
    const step = { ArrowLeft: -1, ArrowDown: -1, ArrowRight: 1, ArrowUp: 1, PageDown: -10, PageUp: 10 }[e.key];
    if (step !== undefined) go(p.index + step);
    else if (e.key === "Home") go(0);
    else if (e.key === "End") go(n - 1);
    else return;
    e.preventDefault();
  };
  const at = (i: number) => `${((xs[i] ?? 0) * 100).toFixed(3)}%`;
  const offset = current && first ? current.at - first.at : undefined;
  return html`<section class="timeline" aria-label="Timeline">
    <div class="tl-controls">
      <div class="tl-buttons" role="group" aria-label="Move through events">
        <button type="button" class="btn btn-small" onClick=${() => go(0)} disabled=${p.index <= 0} aria-label="First event"><${FirstIcon} /></button>
        <button type="button" class="btn btn-small" onClick=${() => go(p.index - 1)} disabled=${p.index <= 0} aria-label="Previous event"><${PrevIcon} /></button>
        <button type="button" class="btn btn-small" onClick=${() => go(p.index + 1)} disabled=${p.index >= n - 1} aria-label="Next event"><${NextIcon} /></button>
        <button type="button" class="btn btn-small" onClick=${() => go(n - 1)} disabled=${p.index >= n - 1} aria-label="Last event"><${LastIcon} /></button>
        <button
          type="button"
          class=${`btn btn-small live-toggle${p.live ? " on" : ""}`}
          aria-pressed=${p.live}
          onClick=${p.onLive}
          title=${p.running ? "Follow new events as they happen" : "Go to the last event"}
        >
          <span class="dot" aria-hidden="true"></span>${p.running ? "Live" : "Latest"}
        </button>
      </div>
      <p class="tl-label" aria-live="polite" data-position=${current?.seq ?? 0}>
        <strong>#${current?.seq ?? 0}</strong> of ${last?.seq ?? 0} · ${describe(current)}
        <span class="muted"> · +${duration(offset)} · ${clock(current?.at)}</span>
      </p>
      <label class="tl-axis">
        <span>Axis</span>
        <select value=${axis} onChange=${(e: Event) => setAxis((e.target as HTMLSelectElement).value as Axis)}>
          <option value="time">time</option>
          <option value="sequence">evenly spaced</option>
        </select>
      </label>
    </div>
    <div
      ref=${track}
      class="tl-track"
      role="slider"
      tabindex="0"
      aria-label="Position in the run's history"
      aria-valuemin=${first?.seq ?? 0}
      aria-valuemax=${last?.seq ?? 0}
      aria-valuenow=${current?.seq ?? 0}
      aria-valuetext=${`event ${current?.seq ?? 0} of ${last?.seq ?? 0}: ${describe(current)}`}
      onKeyDown=${onKeyDown}
      onPointerDown=${(e: PointerEvent) => {
        dragging.current = true;
        track.current?.setPointerCapture(e.pointerId);
        track.current?.focus();
        fromPointer(e);
      }}
      onPointerMove=${(e: PointerEvent) => dragging.current && fromPointer(e)}
      onPointerUp=${() => {
        dragging.current = false;
      }}
      onPointerCancel=${() => {
        dragging.current = false;
      }}
    >
      <div class="tl-past" style=${{ width: at(p.index) }}></div>
      <${Ticks} events=${p.events} xs=${xs} />
      <div class="tl-handle" style=${{ left: at(p.index) }}></div>
    </div>
    <div class="tl-scale muted" aria-hidden="true">
      <span>${clock(first?.at)}</span>
      <span>${axis === "time" ? `${duration(first && last ? last.at - first.at : undefined)} in all` : `${n} events`}</span>
      <span>${clock(last?.at)}</span>
    </div>
  </section>`;
}
