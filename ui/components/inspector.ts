/**
 * The step inspector: one step as it was at the timeline's position (state, attempts with their
 * errors, timing), its input and output, and "Fork from here". With no step selected it shows
 * the run's input, output and error.
 */
import { html } from "htm/preact";
import type { VNode } from "preact";
import { fromValue } from "../../src/client/index.ts";
import type { Run, Step } from "../../src/gen/kronos/v1/kronos_pb.ts";
import type { RunAt, StepAt } from "../lib/derive.ts";
import type { RunEvent } from "../lib/events.ts";
import { kindLabel } from "../lib/events.ts";
import { clock, duration, stamp } from "../lib/format.ts";
import { runState } from "../lib/runs.ts";
import { StatusBadge } from "./bits.ts";
import { JsonView } from "./json-view.ts";

export interface InspectorProps {
  run: Run;
  /** The step as GetRun returns it now (its input and output). */
  step: Step | undefined;
  /** The step at the position. */
  at: StepAt | undefined;
  runAt: RunAt;
  /** Every event of the run. */
  events: readonly RunEvent[];
  onJump(seq: number): void;
  onFork(step: string): void;
  /** Back to the run overview. */
  onClose(): void;
  forking: boolean;
  forkError: string | undefined;
}

function Note(props: { children: unknown }) {
  return html`<p class="note">${props.children}</p>`;
}

function Section(props: { title: string; children: unknown; id?: string }) {
  return html`<section class="insp-section" aria-labelledby=${props.id}>
    <h3 id=${props.id}>${props.title}</h3>
    ${props.children}
  </section>`;
}

function Attempts(props: { s: StepAt; onJump(seq: number): void }) {
  if (props.s.attempts.length === 0) return html`<${Note}>No attempt had started at this point.</${Note}>`;
  return html`<ol class="attempts">
    ${props.s.attempts.map(
      (a) => html`<li key=${a.attempt} class=${`attempt attempt-${a.outcome}`} data-attempt=${a.attempt}>
        <div class="attempt-head">
          <strong>Attempt ${a.attempt}</strong>
          <${StatusBadge} state=${a.outcome === "running" ? "running" : a.outcome} />
          <span class="muted">${clock(a.startedAt)} · ${duration(a.durationMs ?? (a.finishedAt !== undefined && a.startedAt !== undefined ? a.finishedAt - a.startedAt : undefined))}</span>
          ${
            a.startSeq !== undefined &&
            html`<button type="button" class="btn btn-small" onClick=${() => props.onJump(a.startSeq as number)}>
              Go to #${a.startSeq}
            </button>`
          }
        </div>
        ${a.error !== undefined && html`<pre class="error-text">${a.error}</pre>`}
      </li>`,
    )}
  </ol>`;
}

function StepEvents(props: { events: readonly RunEvent[]; seq: number; onJump(seq: number): void }) {
  const current = props.events.filter((e) => e.seq <= props.seq).at(-1)?.seq;
  return html`<ol class="step-events">
    ${props.events.map(
      (e) => html`<li key=${e.seq} class=${e.seq > props.seq ? "later" : ""}>
        <button type="button" class="linkish" aria-current=${e.seq === current ? "step" : undefined} onClick=${() => props.onJump(e.seq)}>
          #${e.seq} ${kindLabel(e.type)}${e.attempt > 0 ? ` (attempt ${e.attempt})` : ""}
        </button>
        <span class="muted">${clock(e.at)}</span>
      </li>`,
    )}
  </ol>`;
}

function Timing(props: { s: StepAt }) {
  const { s } = props;
  const firstStart = s.attempts[0]?.startedAt;
  const rows: [string, string][] = [
    ["Scheduled", stamp(s.scheduledAt)],
    ["Started", stamp(s.startedAt)],
    ["Finished", stamp(s.finishedAt)],
    [
      "Waited in queue",
      duration(firstStart !== undefined && s.scheduledAt !== undefined ? firstStart - s.scheduledAt : undefined),
    ],
    [
      "Took",
      duration(
        s.attempts.at(-1)?.durationMs ??
          (s.finishedAt !== undefined && s.startedAt !== undefined ? s.finishedAt - s.startedAt : undefined),
      ),
    ],
  ];
  if (s.retryAt) rows.push(["Retry at", stamp(Date.parse(s.retryAt))]);
  return html`<dl class="facts">${rows.map(([k, v]) => html`<div key=${k}><dt>${k}</dt><dd>${v}</dd></div>`)}</dl>`;
}

function RunOverview(p: InspectorProps): VNode {
  const ra = p.runAt;
  const finished = ra.state === "completed";
  return html`<div class="inspector" data-inspecting="run">
    <h2>Run</h2>
    <p class="muted">Select a step in the graph to inspect it.</p>
    <div class="insp-status">At #${ra.seq}: <${StatusBadge} state=${ra.state} /></div>
    ${ra.error && html`<${Section} title="Error" id="run-error"><pre class="error-text">${ra.error}</pre></${Section}>`}
    <${Section} title="Input" id="run-input"><${JsonView} value=${fromValue(p.run.input)} label="run input" /></${Section}>
    <${Section} title="Output" id="run-output">
      ${
        finished && p.run.output
          ? html`<${JsonView} value=${fromValue(p.run.output)} label="run output" />`
          : html`<${Note}>${runState(p.run) === "completed" ? "Not produced yet at this point." : "No output: the run has not completed."}</${Note}>`
      }
    </${Section}>
  </div>`;
}

export function Inspector(p: InspectorProps): VNode {
  const s = p.at;
  if (!s || !p.step) return RunOverview(p);
  const step = p.step;
  const stepEvents = p.events.filter((e) => e.step === s.name && e.type.startsWith("step_"));
  const produced = s.state === "completed" || s.state === "reused";
  const completedLater = stepEvents.find((e) => e.type === "step_completed" && e.seq > p.runAt.seq);
  const inputKnown = s.state !== "pending" || (step.after.length === 0 && p.runAt.state !== "pending");
  return html`<div class="inspector" data-inspecting=${s.name}>
    <div class="insp-title">
      <h2>${s.name}</h2>
      <${StatusBadge} state=${s.state} title=${`state at event #${p.runAt.seq}`} />
      ${s.attempt > 0 && html`<span class="muted">attempt ${s.attempt}</span>`}
      <span class="spacer"></span>
      <button type="button" class="btn btn-small" onClick=${p.onClose}>Run overview</button>
      <button
        type="button"
        class="btn btn-primary"
        onClick=${() => p.onFork(s.name)}
        disabled=${p.forking}
        title=${`Start a new run that reuses the outputs recorded before "${s.name}" and runs "${s.name}" and everything after it with the code loaded now`}
      >
        ${p.forking ? "Forking…" : "Fork from here"}
      </button>
    </div>
    ${p.forkError && html`<p class="error-text" role="alert">${p.forkError}</p>`}
    ${s.state === "reused" && html`<p class="note">Not executed: this fork reused the parent run's recorded output.</p>`}
    ${step.after.length > 0 && html`<p class="muted">After ${step.after.join(", ")}</p>`}
    ${
      s.error !== undefined &&
      html`<${Section} title=${s.state === "failed" ? "Error" : `Error of attempt ${s.attempts.findLast((a) => a.error !== undefined)?.attempt ?? "?"}`} id="step-error">
        <pre class="error-text">${s.error}</pre>
      </${Section}>`
    }
    <${Section} title="Output" id="step-output">
      ${
        produced && step.output
          ? html`<${JsonView} value=${fromValue(step.output)} label=${`${s.name} output`} />`
          : completedLater
            ? html`<${Note}>Not produced yet at this point.
                <button type="button" class="linkish" onClick=${() => p.onJump(completedLater.seq)}>It completes at #${completedLater.seq}.</button></${Note}>`
            : html`<${Note}>No output.</${Note}>`
      }
    </${Section}>
    <${Section} title="Input" id="step-input">
      ${
        inputKnown && step.input
          ? html`<${JsonView} value=${fromValue(step.input)} label=${`${s.name} input`} initialDepth=${1} />`
          : html`<${Note}>${inputKnown ? "No input recorded." : "Not known yet: its dependencies had not completed at this point."}</${Note}>`
      }
    </${Section}>
    <${Section} title="Attempts" id="step-attempts"><${Attempts} s=${s} onJump=${p.onJump} /></${Section}>
    <${Section} title="Timing" id="step-timing"><${Timing} s=${s} /></${Section}>
    <${Section} title="Events" id="step-events"><${StepEvents} events=${stepEvents} seq=${p.runAt.seq} onJump=${p.onJump} /></${Section}>
  </div>`;
}
