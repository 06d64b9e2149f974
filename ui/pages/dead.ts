/** The dead-letter queue: jobs that used up their retries, each with its error and a re-queue button. */
import { html } from "htm/preact";
import { useEffect, useState } from "preact/hooks";
import { fromValue } from "../../src/client/index.ts";
import type { Job } from "../../src/gen/kronos/v1/kronos_pb.ts";
import { errorText, kronos } from "../api.ts";
import { ErrorBox, Loading } from "../components/bits.ts";
import { JsonView } from "../components/json-view.ts";
import { useAsync, useTitle } from "../hooks.ts";
import { ago, stamp } from "../lib/format.ts";
import { ms } from "../lib/runs.ts";
import { Link, type Route, setQuery } from "../router.ts";

const STEP_JOB = "kronos.workflow_step";

function DeadJob(props: { job: Job; onRequeued(): void }) {
  const { job } = props;
  const [state, setState] = useState<"idle" | "busy" | "done">("idle");
  const [error, setError] = useState<string | undefined>(undefined);
  const payload = fromValue(job.payload) as Record<string, unknown> | undefined;
  const runId = job.type === STEP_JOB && typeof payload?.runId === "string" ? payload.runId : undefined;
  const requeue = () => {
    setState("busy");
    setError(undefined);
    kronos.retryJob({ id: job.id }).then(
      () => {
        setState("done");
        props.onRequeued();
      },
      (e: unknown) => {
        setState("idle");
        setError(errorText(e));
      },
    );
  };
  const died = ms(job.finishedAt);
  return html`<li class="dead-job" data-job=${String(job.id)}>
    <div class="dead-head">
      <strong>#${String(job.id)}</strong>
      <code>${job.type}</code>
      <span class="muted">${job.attempt} ${job.attempt === 1 ? "attempt" : "attempts"}</span>
      <span class="muted" title=${stamp(died)}>died ${ago(died)}</span>
      ${runId && html`<${Link} href=${`/runs/${runId}${typeof payload?.step === "string" ? `?step=${encodeURIComponent(payload.step)}` : ""}`}>run ${runId.slice(0, 8)}${typeof payload?.step === "string" ? ` · ${payload.step}` : ""}</${Link}>`}
      <span class="spacer"></span>
      <button type="button" class="btn btn-primary" onClick=${requeue} disabled=${state !== "idle"}>
        ${state === "busy" ? "Re-queueing…" : state === "done" ? "Re-queued" : "Re-queue"}
      </button>
    </div>
    ${error && html`<p class="error-text" role="alert">${error}</p>`}
    ${job.lastError && html`<pre class="error-text">${job.lastError}</pre>`}
    <details><summary>Payload</summary><${JsonView} value=${payload ?? null} label=${`job ${String(job.id)} payload`} /></details>
  </li>`;
}

export function DeadPage(props: { route: Route }) {
  useTitle("Dead letters");
  const page = props.route.query.get("page") ?? "";
  const dead = useAsync((signal) => kronos.listDeadJobs({ pageSize: 50, pageToken: page }, { signal }), [page]);
  const { reload } = dead;
  useEffect(() => {
    const t = setInterval(reload, 10_000);
    return () => clearInterval(t);
  }, [reload]);
  const jobs = dead.data?.jobs ?? [];
  return html`<div class="page dead-page">
    <div class="page-head">
      <h1>Dead letters</h1>
      <p class="muted">Jobs that failed on every allowed attempt. Re-queue one to run it again with a fresh attempt count.</p>
      <button type="button" class="btn" onClick=${reload}>Refresh</button>
    </div>
    ${dead.error && html`<${ErrorBox} error=${dead.error} onRetry=${reload} />`}
    ${!dead.data && !dead.error && html`<${Loading} what="dead jobs" />`}
    ${dead.data && jobs.length === 0 && html`<p class="empty">No dead jobs.</p>`}
    <ul class="dead-list">${jobs.map((j) => html`<${DeadJob} key=${String(j.id)} job=${j} onRequeued=${() => setTimeout(reload, 800)} />`)}</ul>
    <nav class="pager" aria-label="Pages of dead jobs">
      ${page && html`<button type="button" class="btn" onClick=${() => setQuery({ page: undefined }, { replace: false })}>← First page</button>`}
      ${dead.data?.nextPageToken && html`<button type="button" class="btn" onClick=${() => setQuery({ page: dead.data?.nextPageToken }, { replace: false })}>Next →</button>`}
    </nav>
  </div>`;
}
