/** The run page's header: status, ids, parent and forks, "Compare with parent", "Cancel run". */
import { html } from "htm/preact";
import { useState } from "preact/hooks";
import type { GetRunResponse } from "../../src/gen/kronos/v1/kronos_pb.ts";
import { errorText, kronos } from "../api.ts";
import { useNow } from "../hooks.ts";
import { ago, duration, shortId, stamp } from "../lib/format.ts";
import { ms, runDuration, runState } from "../lib/runs.ts";
import { Link } from "../router.ts";
import { CopyButton, StatusBadge } from "./bits.ts";

function CancelButton(props: { runId: string; onDone(): void }) {
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);
  if (!confirming) {
    return html`<button type="button" class="btn btn-danger" onClick=${() => setConfirming(true)}>Cancel run</button>`;
  }
  const cancel = () => {
    setBusy(true);
    kronos.cancelRun({ runId: props.runId }).then(
      () => {
        setBusy(false);
        setConfirming(false);
        props.onDone();
      },
      (e: unknown) => {
        setBusy(false);
        setError(errorText(e));
      },
    );
  };
  return html`<span class="confirm" role="group" aria-label="Confirm cancel">
    <span>Cancel this run? Pending steps will not start; running ones are told to stop.</span>
    <button type="button" class="btn btn-danger" onClick=${cancel} disabled=${busy}>${busy ? "Cancelling…" : "Yes, cancel"}</button>
    <button type="button" class="btn" onClick=${() => setConfirming(false)} disabled=${busy}>Keep running</button>
    ${error && html`<span class="error-text" role="alert">${error}</span>`}
  </span>`;
}

export function RunHeader(props: {
  data: GetRunResponse;
  forks: { id: string; step: string; state: string }[];
  onCancelled(): void;
}) {
  const run = props.data.run;
  const now = useNow(1_000, run ? runState(run) === "running" : false);
  if (!run) return null;
  const state = runState(run);
  const started = ms(run.createdAt);
  return html`<section class="run-bar" aria-label="Run">
    <div class="run-title">
      <h1>${run.workflowName}<span class="muted">@${run.workflowVersion}</span></h1>
      <span data-run-status=${state}><${StatusBadge} state=${state} title="status now" /></span>
      <code class="run-id">${run.id}</code>
      <${CopyButton} text=${run.id} label="Copy id" />
      <span class="spacer"></span>
      ${run.parentRunId && html`<${Link} href=${`/runs/${run.id}/compare`} class="btn">Compare with parent</${Link}>`}
      ${state === "running" && html`<${CancelButton} runId=${run.id} onDone=${props.onCancelled} />`}
    </div>
    <dl class="run-facts">
      <div><dt>Started</dt><dd title=${stamp(started)}>${ago(started, now)}</dd></div>
      <div><dt>${state === "running" ? "Running for" : "Took"}</dt><dd>${duration(runDuration(run, now))}</dd></div>
      ${
        run.parentRunId &&
        html`<div class="fork-of"><dt>Fork of</dt><dd>
          <${Link} href=${`/runs/${run.parentRunId}`} data-parent-link="true">${shortId(run.parentRunId)}</${Link}>
          from <strong>${run.forkedFromStep}</strong></dd></div>`
      }
      ${
        props.forks.length > 0 &&
        html`<div class="forks"><dt>Forks</dt><dd><ul class="inline-list">
          ${props.forks.map(
            (f) => html`<li key=${f.id}>
              <${Link} href=${`/runs/${f.id}`} data-fork-link=${f.id}>${shortId(f.id)}</${Link}>
              <span class="muted">from ${f.step}, ${f.state}</span>
              <${Link} href=${`/runs/${f.id}/compare`} class="small">compare</${Link}>
            </li>`,
          )}
        </ul></dd></div>`
      }
      ${run.failedStep && html`<div><dt>Failed at</dt><dd><strong>${run.failedStep}</strong></dd></div>`}
    </dl>
  </section>`;
}
