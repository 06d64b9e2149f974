/** The bar at the top: where you are, and how the cluster is doing (nodes, leader, queue depth). */
import { html } from "htm/preact";
import { useEffect } from "preact/hooks";
import { kronos } from "../api.ts";
import { auth, useAuth } from "../auth.ts";
import { useAsync } from "../hooks.ts";
import { plural, shortId } from "../lib/format.ts";
import { Link, useRoute } from "../router.ts";
import { Logo } from "./icons.ts";

function Cluster() {
  const info = useAsync(() => kronos.getClusterInfo({}), []);
  const { reload } = info;
  useEffect(() => {
    const t = setInterval(reload, 5_000);
    return () => clearInterval(t);
  }, [reload]);
  if (!info.data) {
    return html`<div class="cluster muted" role="status">${info.error ? "cluster info unavailable" : "…"}</div>`;
  }
  const { nodes, leaderId, queueDepth } = info.data;
  const leader = nodes.find((n) => n.id === leaderId);
  const leaderText = leader ? `${leader.hostname}:${leader.pid}` : leaderId ? shortId(leaderId) : "none";
  return html`<dl class="cluster" aria-label="Cluster">
    <div><dt>Nodes</dt><dd data-cluster="nodes">${nodes.length}</dd></div>
    <div title=${leaderId || "no node holds the leader lock right now"}>
      <dt>Leader</dt><dd data-cluster="leader">${leaderText}</dd>
    </div>
    <div title=${`${plural(Number(queueDepth), "job")} due and waiting for a worker`}>
      <dt>Queue</dt><dd data-cluster="queue">${String(queueDepth)}</dd>
    </div>
  </dl>`;
}

export function Header() {
  const { path } = useRoute();
  const { token } = useAuth();
  const runsActive = path === "/" || path.startsWith("/runs");
  return html`<header class="top">
    <a class="skip" href="#main">Skip to content</a>
    <${Link} href="/" class="brand" aria-label="Kronos debugger, runs">
      <${Logo} /> Kronos
    </${Link}>
    <nav aria-label="Pages">
      <${Link} href="/" aria-current=${runsActive ? "page" : undefined}>Runs</${Link}>
      <${Link} href="/dead" aria-current=${path === "/dead" ? "page" : undefined}>Dead letters</${Link}>
    </nav>
    <span class="spacer"></span>
    <${Cluster} />
    ${token && html`<button type="button" class="btn btn-small" onClick=${() => auth.clear()}>Forget token</button>`}
  </header>`;
}
