/**
 * A fork next to its parent (or any two runs of a workflow, with ?with=<run-id>): step by step,
 * which were reused, which ran again, and which outputs changed, with a JSON diff of each change.
 */
import { html } from "htm/preact";
import { useMemo, useState } from "preact/hooks";
import { fromValue, StepStatus } from "../../src/client/index.ts";
import type { GetRunResponse, Step } from "../../src/gen/kronos/v1/kronos_pb.ts";
import { kronos } from "../api.ts";
import { ErrorBox, Loading, StatusBadge } from "../components/bits.ts";
import { DiffView } from "../components/diff-view.ts";
import { useAsync, useTitle } from "../hooks.ts";
import { countChanges, deepEqual, diff } from "../lib/diff.ts";
import { plural, shortId } from "../lib/format.ts";
import { runState, STEP_STATES } from "../lib/runs.ts";
import { Link, type Route } from "../router.ts";

type Verdict = "reused" | "same" | "changed" | "only-before" | "only-after" | "no-output";

const VERDICTS: Record<Verdict, string> = {
  reused: "reused, not run again",
  same: "ran again, same output",
  changed: "output changed",
  "only-before": "only in the parent",
  "only-after": "only in the fork",
  "no-output": "no output in either",
};

interface Row {
  name: string;
  before?: Step;
  after?: Step;
  verdict: Verdict;
  beforeOut: unknown;
  afterOut: unknown;
}

function compareSteps(before: GetRunResponse, after: GetRunResponse): Row[] {
  const b = new Map(before.steps.map((s) => [s.name, s]));
  const a = new Map(after.steps.map((s) => [s.name, s]));
  const names = [...after.steps.map((s) => s.name), ...before.steps.map((s) => s.name).filter((n) => !a.has(n))];
  return names.map((name) => {
    const bs = b.get(name);
    const as = a.get(name);
    const beforeOut = fromValue(bs?.output);
    const afterOut = fromValue(as?.output);
    const verdict: Verdict = !bs
      ? "only-after"
      : !as
        ? "only-before"
        : as.status === StepStatus.REUSED
          ? "reused"
          : beforeOut === undefined && afterOut === undefined
            ? "no-output"
            : deepEqual(beforeOut, afterOut)
              ? "same"
              : "changed";
    return { name, before: bs, after: as, verdict, beforeOut, afterOut };
  });
}

function StepRow(props: { row: Row; labels: [string, string] }) {
  const { row } = props;
  const [before, after] = props.labels;
  const changed = row.verdict === "changed";
  const counts = changed ? countChanges(diff(row.beforeOut, row.afterOut)) : undefined;
  const inputsDiffer = row.before && row.after && !deepEqual(fromValue(row.before.input), fromValue(row.after.input));
  return html`<li class=${`cmp-step cmp-${row.verdict}`} data-compare-step=${row.name} data-verdict=${row.verdict}>
    <details open=${changed}>
      <summary>
        <span class="cmp-name">${row.name}</span>
        <span class="cmp-states">
          ${row.before ? html`<${StatusBadge} state=${STEP_STATES[row.before.status] ?? "pending"} />` : html`<span class="muted">–</span>`}
          <span aria-label="then">→</span>
          ${row.after ? html`<${StatusBadge} state=${STEP_STATES[row.after.status] ?? "pending"} />` : html`<span class="muted">–</span>`}
        </span>
        <span class=${`verdict verdict-${row.verdict}`}>${VERDICTS[row.verdict]}</span>
        ${counts && html`<span class="muted">${plural(counts.changed + counts.added + counts.removed, "change")}</span>`}
      </summary>
      <div class="cmp-body">
        ${row.before?.error && html`<div class="cmp-error"><span class="d-del-chip">${before} error</span><pre class="error-text">${row.before.error}</pre></div>`}
        ${row.after?.error && html`<div class="cmp-error"><span class="d-add-chip">${after} error</span><pre class="error-text">${row.after.error}</pre></div>`}
        ${
          row.verdict === "reused" || row.verdict === "same"
            ? html`<p class="note">Both runs have the same output.</p>`
            : html`<${DiffView} before=${row.beforeOut} after=${row.afterOut} beforeLabel=${`${before} output`} afterLabel=${`${after} output`} />`
        }
        ${
          inputsDiffer &&
          html`<details class="cmp-input">
            <summary>Its input differs too</summary>
            <${DiffView}
              before=${fromValue(row.before?.input)}
              after=${fromValue(row.after?.input)}
              beforeLabel=${`${before} input`}
              afterLabel=${`${after} input`}
            />
          </details>`
        }
      </div>
    </details>
  </li>`;
}

export function ComparePage(props: { id: string; route: Route }) {
  useTitle(`Compare ${shortId(props.id)}`);
  const withId = props.route.query.get("with") ?? "";
  const [onlyDiffs, setOnlyDiffs] = useState(false);
  const pair = useAsync(
    async (signal) => {
      const after = await kronos.getRun({ runId: props.id }, { signal });
      const otherId = withId || after.run?.parentRunId || "";
      if (!otherId) throw new Error("this run is not a fork: add ?with=<run-id> to compare it with another run");
      const before = await kronos.getRun({ runId: otherId }, { signal });
      return { before, after };
    },
    [props.id, withId],
  );
  const rows = useMemo(() => (pair.data ? compareSteps(pair.data.before, pair.data.after) : []), [pair.data]);
  if (pair.error)
    return html`<div class="page"><h1>Compare</h1><${ErrorBox} error=${pair.error} onRetry=${pair.reload} /></div>`;
  if (!pair.data) return html`<div class="page"><${Loading} what="both runs" /></div>`;
  const b = pair.data.before.run;
  const a = pair.data.after.run;
  if (!a || !b) return html`<div class="page"><p>Run not found.</p></div>`;
  const isFork = a.parentRunId === b.id;
  const labels: [string, string] = isFork ? ["parent", "fork"] : ["left", "right"];
  const count = (v: Verdict) => rows.filter((r) => r.verdict === v).length;
  const outBefore = fromValue(b.output);
  const outAfter = fromValue(a.output);
  const shown = onlyDiffs ? rows.filter((r) => r.verdict !== "same" && r.verdict !== "reused") : rows;
  return html`<div class="page compare-page">
    <div class="page-head">
      <h1>Compare</h1>
      <p class="cmp-runs">
        <span class="d-del-chip">${labels[0]}</span>
        <${Link} href=${`/runs/${b.id}`}>${shortId(b.id)}</${Link}> ${b.workflowName}@${b.workflowVersion}
        <${StatusBadge} state=${runState(b)} />
        <span aria-hidden="true">→</span>
        <span class="d-add-chip">${labels[1]}</span>
        <${Link} href=${`/runs/${a.id}`}>${shortId(a.id)}</${Link}> ${a.workflowName}@${a.workflowVersion}
        <${StatusBadge} state=${runState(a)} />
        ${isFork && html`<span class="muted">forked from step <strong>${a.forkedFromStep}</strong></span>`}
      </p>
    </div>
    <ul class="cmp-summary" aria-label="Summary">
      <li><strong>${count("reused")}</strong> reused</li>
      <li><strong>${rows.length - count("reused") - count("only-before")}</strong> ran again</li>
      <li class=${count("changed") > 0 ? "has-changes" : ""}><strong data-changed-count=${count("changed")}>${count("changed")}</strong> with a changed output</li>
      <li><strong>${count("same")}</strong> with the same output</li>
      ${count("only-before") + count("only-after") > 0 && html`<li><strong>${count("only-before") + count("only-after")}</strong> in one run only</li>`}
    </ul>
    <section class="cmp-output" aria-label="Run output">
      <h2>Run output</h2>
      ${
        deepEqual(outBefore, outAfter)
          ? html`<p class="note">${outAfter === undefined ? "Neither run has an output." : "The same in both runs."}</p>`
          : html`<${DiffView} before=${outBefore} after=${outAfter} beforeLabel=${`${labels[0]} output`} afterLabel=${`${labels[1]} output`} />`
      }
    </section>
    <section aria-label="Steps">
      <div class="cmp-steps-head">
        <h2>Steps</h2>
        <label class="check"><input type="checkbox" checked=${onlyDiffs} onChange=${(e: Event) => setOnlyDiffs((e.target as HTMLInputElement).checked)} /> Only steps that differ</label>
      </div>
      <ol class="cmp-steps">
        ${shown.map((r) => html`<${StepRow} key=${r.name} row=${r} labels=${labels} />`)}
      </ol>
    </section>
  </div>`;
}
