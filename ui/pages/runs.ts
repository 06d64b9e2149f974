/**
 * Runs, newest first: filters (workflow, status, age), search by run id or its first characters,
 * pages, and live updates: a new run or a status change shows up without a reload.
 */
import { fromJson, type JsonValue } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { html } from "htm/preact";
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { type Run, RunSchema } from "../../src/gen/kronos/v1/kronos_pb.ts";
import { getJson, kronos } from "../api.ts";
import { ErrorBox, Loading, StatusBadge } from "../components/bits.ts";
import { useAsync, useNow, useThrottled, useTitle } from "../hooks.ts";
import { ago, duration, shortId, stamp } from "../lib/format.ts";
import { ms, RUN_STATUS_FILTERS, runDuration, runState } from "../lib/runs.ts";
import { Link, type Route, setQuery } from "../router.ts";
import { openStream, type StreamState } from "../sse.ts";

const PAGE_SIZE = 24;
const AGES: Record<string, number> = { "1h": 3_600_000, "24h": 86_400_000, "7d": 7 * 86_400_000 };

function RunCard(props: { run: Run; now: number; fresh: boolean }) {
  const { run, now } = props;
  const state = runState(run);
  const started = ms(run.createdAt);
  return html`<li class=${props.fresh ? "fresh" : ""}>
    <${Link} href=${`/runs/${run.id}`} class=${`card card-${state}`} aria-label=${`Run ${run.id}, ${run.workflowName} ${state}`}>
      <span class="card-top">
        <span class="card-wf">${run.workflowName}<span class="muted">@${run.workflowVersion}</span></span>
        <${StatusBadge} state=${state} />
      </span>
      <code class="card-id" data-run-id=${run.id}>${run.id}</code>
      <span class="card-facts">
        <span title=${stamp(started)}>started ${ago(started, now)}</span>
        <span>${state === "running" ? "running for " : "took "}${duration(runDuration(run, now))}</span>
      </span>
      ${
        run.failedStep &&
        html`<span class="card-failure">failed at <strong>${run.failedStep}</strong>${run.error ? html`: <span class="card-error">${run.error}</span>` : ""}</span>`
      }
      ${
        run.parentRunId &&
        html`<span class="card-fork">fork of ${shortId(run.parentRunId)} from <strong>${run.forkedFromStep}</strong></span>`
      }
    </${Link}>
  </li>`;
}

function Filters(props: { route: Route; workflows: string[]; live: StreamState }) {
  const q = props.route.query;
  const [search, setSearch] = useState(q.get("q") ?? "");
  useEffect(() => setSearch(q.get("q") ?? ""), [q]);
  const set = (k: string) => (e: Event) => setQuery({ [k]: (e.target as HTMLSelectElement).value, page: undefined });
  const liveText = { open: "live", connecting: "connecting…", retrying: "reconnecting…", unauthorized: "needs token" }[
    props.live
  ];
  return html`<form class="filters" role="search" onSubmit=${(e: Event) => {
    e.preventDefault();
    setQuery({ q: search.trim(), page: undefined });
  }}>
    <label class="field">
      <span>Workflow</span>
      <select value=${q.get("workflow") ?? ""} onChange=${set("workflow")}>
        <option value="">all</option>
        ${props.workflows.map((w) => html`<option key=${w} value=${w}>${w}</option>`)}
      </select>
    </label>
    <label class="field">
      <span>Status</span>
      <select value=${q.get("status") ?? ""} onChange=${set("status")}>
        <option value="">any</option>
        ${Object.keys(RUN_STATUS_FILTERS).map((s) => html`<option key=${s} value=${s}>${s}</option>`)}
      </select>
    </label>
    <label class="field">
      <span>Started</span>
      <select value=${q.get("age") ?? ""} onChange=${set("age")}>
        <option value="">any time</option>
        <option value="1h">last hour</option>
        <option value="24h">last 24 hours</option>
        <option value="7d">last 7 days</option>
      </select>
    </label>
    <label class="field grow">
      <span>Run id</span>
      <input
        type="search"
        name="q"
        placeholder="a run id or its first characters"
        value=${search}
        onInput=${(e: Event) => setSearch((e.target as HTMLInputElement).value)}
        spellcheck=${false}
        autocomplete="off"
      />
    </label>
    <button type="submit" class="btn">Search</button>
    <span class=${`live-state live-${props.live}`} role="status" title="Updates arrive over Server-Sent Events">
      <span class="dot" aria-hidden="true"></span>${liveText}
    </span>
  </form>`;
}

export function RunsPage(props: { route: Route }) {
  useTitle("Runs");
  const q = props.route.query;
  const workflow = q.get("workflow") ?? "";
  const status = q.get("status") ?? "";
  const age = q.get("age") ?? "";
  const search = (q.get("q") ?? "").trim();
  const page = q.get("page") ?? "";
  const [live, setLive] = useState<StreamState>("connecting");
  const workflows = useAsync(() => kronos.listWorkflows({}), []);
  const names = useMemo(
    () => [...new Set((workflows.data?.workflows ?? []).map((w) => w.name))].sort(),
    [workflows.data],
  );
  const list = useAsync(
    async (signal) => {
      if (search) {
        const found = await getJson<{ runs: JsonValue[]; truncated: boolean }>(
          `runs?prefix=${encodeURIComponent(search)}`,
          signal,
        );
        return {
          runs: found.runs.map((r) => fromJson(RunSchema, r, { ignoreUnknownFields: true })),
          next: "",
          truncated: found.truncated,
        };
      }
      const res = await kronos.listRuns(
        {
          workflowName: workflow,
          status: RUN_STATUS_FILTERS[status],
          createdAfter: AGES[age] ? timestampFromMs(Date.now() - (AGES[age] as number)) : undefined,
          pageSize: PAGE_SIZE,
          pageToken: page,
        },
        { signal },
      );
      return { runs: res.runs, next: res.nextPageToken, truncated: false };
    },
    [workflow, status, age, search, page],
  );
  const refresh = useThrottled(list.reload, 700);
  useEffect(
    () =>
      openStream(() => "/debugger/api/live", {
        onMessage: (event) => {
          if (event === "runs") refresh();
        },
        onState: (s) => {
          setLive(s);
          if (s === "open") refresh();
        },
      }),
    [refresh],
  );
  // Cards that were not on the page a moment ago get a highlight.
  const seen = useRef<Set<string> | undefined>(undefined);
  const runs = list.data?.runs ?? [];
  const fresh = useMemo(() => {
    const before = seen.current;
    return new Set(before ? runs.filter((r) => !before.has(r.id)).map((r) => r.id) : []);
  }, [runs]);
  useEffect(() => {
    seen.current = new Set(runs.map((r) => r.id));
  }, [runs]);
  const now = useNow(
    1_000,
    runs.some((r) => runState(r) === "running"),
  );
  // Previous pages' tokens, to go back ("Newer").
  const back = (q.get("back") ?? "").split(",").filter(Boolean);
  const older = () => setQuery({ page: list.data?.next, back: [...back, page || "-"].join(",") }, { replace: false });
  const newer = () => {
    const prev = back.at(-1);
    setQuery(
      { page: prev === "-" ? undefined : prev, back: back.slice(0, -1).join(",") || undefined },
      { replace: false },
    );
  };
  return html`<div class="page runs-page">
    <div class="page-head">
      <h1>Runs</h1>
      ${search && html`<p class="muted">Runs whose id starts with <code>${search}</code> <button type="button" class="linkish" onClick=${() => setQuery({ q: undefined })}>clear search</button></p>`}
    </div>
    <${Filters} route=${props.route} workflows=${names} live=${live} />
    ${list.error && html`<${ErrorBox} error=${list.error} onRetry=${list.reload} />`}
    ${!list.data && !list.error && html`<${Loading} what="runs" />`}
    ${
      list.data &&
      runs.length === 0 &&
      html`<div class="empty">
        <p>${search ? "No run id starts with that." : "No runs match."}</p>
        ${
          !search &&
          !workflow &&
          !status &&
          html`<p class="muted">Start one over the API, for example:</p>
          <pre class="cmd">curl -H 'content-type: application/json' -d '{"workflowName":"data-pipeline","input":{"userId":"u1"}}' ${location.origin}/kronos.v1.KronosService/StartWorkflow</pre>`
        }
      </div>`
    }
    <ul class="cards" aria-label="Runs" aria-busy=${list.loading}>
      ${runs.map((r) => html`<${RunCard} key=${r.id} run=${r} now=${now} fresh=${fresh.has(r.id)} />`)}
    </ul>
    ${list.data?.truncated && html`<p class="muted">Showing the first matches; type more of the id to narrow them.</p>`}
    ${
      !search &&
      (back.length > 0 || list.data?.next) &&
      html`<nav class="pager" aria-label="Pages of runs">
        <button type="button" class="btn" onClick=${newer} disabled=${back.length === 0}>← Newer</button>
        <button type="button" class="btn" onClick=${older} disabled=${!list.data?.next}>Older →</button>
      </nav>`
    }
  </div>`;
}
