/** The debugger's shell: header, the page for the current URL, and the token prompt when needed. */
import { html } from "htm/preact";
import { useAuth } from "./auth.ts";
import { Header } from "./components/header.ts";
import { TokenPrompt } from "./components/token-prompt.ts";
import { useTitle } from "./hooks.ts";
import { ComparePage } from "./pages/compare.ts";
import { DeadPage } from "./pages/dead.ts";
import { RunPage } from "./pages/run.ts";
import { RunsPage } from "./pages/runs.ts";
import { Link, type Route, useRoute } from "./router.ts";

function NotFound(props: { path: string }) {
  useTitle("Not found");
  return html`<div class="page">
    <h1>Nothing here</h1>
    <p>The debugger has no page at <code>${props.path}</code>.</p>
    <p><${Link} href="/">← All runs</${Link}></p>
  </div>`;
}

function page(route: Route) {
  const { path } = route;
  if (path === "/" || path === "/runs" || path === "/runs/") return html`<${RunsPage} route=${route} />`;
  if (path === "/dead") return html`<${DeadPage} route=${route} />`;
  const compare = /^\/runs\/([^/]+)\/compare\/?$/.exec(path);
  if (compare) {
    const id = decodeURIComponent(compare[1] as string);
    return html`<${ComparePage} key=${id} id=${id} route=${route} />`;
  }
  const run = /^\/runs\/([^/]+)\/?$/.exec(path);
  if (run) {
    const id = decodeURIComponent(run[1] as string);
    return html`<${RunPage} key=${id} id=${id} route=${route} />`;
  }
  return html`<${NotFound} path=${path} />`;
}

export function App() {
  const route = useRoute();
  const { needed } = useAuth();
  return html`<${Header} />
    <main id="main" tabindex="-1">${page(route)}</main>
    ${needed && html`<${TokenPrompt} />`}`;
}
