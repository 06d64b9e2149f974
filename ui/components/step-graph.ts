/**
 * The workflow's DAG with each step's state at the timeline's position. Steps are buttons
 * (Tab to reach, arrow keys to move through them in topological order, Enter to inspect).
 */
import { html } from "htm/preact";
import { useEffect, useMemo, useRef } from "preact/hooks";
import { DEFAULT_LAYOUT, type LayoutStep, layoutDag } from "../lib/dag-layout.ts";
import type { StepAt } from "../lib/derive.ts";
import { duration } from "../lib/format.ts";
import { STATE_LABELS } from "../lib/runs.ts";

export interface StepGraphProps {
  steps: readonly LayoutStep[];
  states: ReadonlyMap<string, StepAt>;
  /** Time of the position shown, to tell how long a running step had been running. */
  at: number | undefined;
  selected: string | undefined;
  onSelect(name: string): void;
}

/** How long the step took, or had been running for at the position. */
function took(s: StepAt | undefined, at: number | undefined): string {
  if (!s) return "";
  const last = s.attempts.at(-1);
  if (s.state === "running" && s.startedAt !== undefined && at !== undefined) return ` · ${duration(at - s.startedAt)}`;
  if (last?.durationMs !== undefined && (s.state === "completed" || s.state === "failed")) {
    return ` · ${duration(last.durationMs)}`;
  }
  return "";
}

export function StepGraph(props: StepGraphProps) {
  const layout = useMemo(() => layoutDag(props.steps), [props.steps]);
  const box = useRef<HTMLDivElement>(null);
  const order = props.steps.map((s) => s.name);
  const done = (name: string) => {
    const st = props.states.get(name)?.state;
    return st === "completed" || st === "reused";
  };
  // Keep the selected step in view (after a click in the timeline or inspector).
  useEffect(() => {
    if (!props.selected) return;
    const el = box.current?.querySelector<HTMLElement>(`[data-step="${CSS.escape(props.selected)}"]`);
    el?.scrollIntoView({ block: "nearest", inline: "nearest" });
  }, [props.selected]);
  const onKeyDown = (e: KeyboardEvent, name: string) => {
    const i = order.indexOf(name);
    const next =
      e.key === "ArrowDown" || e.key === "ArrowRight"
        ? order[i + 1]
        : e.key === "ArrowUp" || e.key === "ArrowLeft"
          ? order[i - 1]
          : e.key === "Home"
            ? order[0]
            : e.key === "End"
              ? order.at(-1)
              : undefined;
    if (next === undefined) return;
    e.preventDefault();
    props.onSelect(next);
    box.current?.querySelector<HTMLElement>(`[data-step="${CSS.escape(next)}"]`)?.focus();
  };
  return html`<div class="dag-scroll" ref=${box}>
    <div class="dag" style=${{ width: `${layout.width}px`, height: `${layout.height}px` }}>
      <svg class="dag-edges" width=${layout.width} height=${layout.height} aria-hidden="true">
        ${layout.edges.map(
          (e) =>
            html`<path
              key=${`${e.from}>${e.to}`}
              d=${e.d}
              class=${done(e.from) ? "edge edge-done" : "edge"}
            />`,
        )}
      </svg>
      ${order.map((name) => {
        const node = layout.nodes.get(name);
        if (!node) return null;
        const s = props.states.get(name);
        const state = s?.state ?? "pending";
        const selected = props.selected === name;
        return html`<button
          key=${name}
          type="button"
          class=${`dag-node state-${state}${selected ? " selected" : ""}`}
          data-step=${name}
          data-state=${state}
          aria-pressed=${selected}
          aria-label=${`${name}: ${STATE_LABELS[state]}${s && s.attempt > 1 ? `, attempt ${s.attempt}` : ""}`}
          style=${`left:${node.x}px;top:${node.y}px;width:${DEFAULT_LAYOUT.nodeWidth}px;height:${DEFAULT_LAYOUT.nodeHeight}px`}
          onClick=${() => props.onSelect(name)}
          onKeyDown=${(e: KeyboardEvent) => onKeyDown(e, name)}
        >
          <span class="node-head">
            <span class="node-name">${name}</span>
            ${s && s.attempt > 1 && html`<span class="node-attempt" title=${`attempt ${s.attempt}`}>×${s.attempt}</span>`}
          </span>
          <span class="node-meta">${STATE_LABELS[state]}${took(s, props.at)}</span>
        </button>`;
      })}
    </div>
  </div>`;
}
