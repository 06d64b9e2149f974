/**
 * Client-side routes under /debugger/ with the History API. Paths inside the app are written
 * without the prefix ("/runs/<id>"); links are real <a href>s, so they open in new tabs too.
 */
import { html } from "htm/preact";
import type { ComponentChildren } from "preact";
import { useEffect, useState } from "preact/hooks";

export const BASE = "/debugger";

export interface Route {
  /** Path inside the app, always starting with "/". */
  path: string;
  query: URLSearchParams;
}

const listeners = new Set<() => void>();
const notify = () => {
  for (const l of listeners) l();
};
window.addEventListener("popstate", notify);

export function currentRoute(): Route {
  const path = location.pathname.startsWith(BASE) ? location.pathname.slice(BASE.length) : location.pathname;
  return { path: path === "" ? "/" : path, query: new URLSearchParams(location.search) };
}

/** Goes to an app path ("/runs/abc?step=x"); `replace` keeps the history entry (filters, scrubbing). */
export function navigate(to: string, options: { replace?: boolean } = {}): void {
  const url = `${BASE}${to}`;
  if (url === location.pathname + location.search) return;
  if (options.replace) history.replaceState(null, "", url);
  else history.pushState(null, "", url);
  notify();
  if (!options.replace) window.scrollTo(0, 0);
}

/** Changes some query parameters of the current page (undefined or "" removes one). */
export function setQuery(changes: Record<string, string | undefined>, options: { replace?: boolean } = {}): void {
  const { path, query } = currentRoute();
  for (const [k, v] of Object.entries(changes)) {
    if (v === undefined || v === "") query.delete(k);
    else query.set(k, v);
  }
  const qs = query.toString();
  navigate(`${path}${qs ? `?${qs}` : ""}`, { replace: options.replace ?? true });
}

export function useRoute(): Route {
  const [route, setRoute] = useState(currentRoute);
  useEffect(() => {
    const l = () => setRoute(currentRoute());
    listeners.add(l);
    return () => {
      listeners.delete(l);
    };
  }, []);
  return route;
}

export interface LinkProps {
  href: string;
  class?: string;
  title?: string;
  children?: ComponentChildren;
  "aria-label"?: string;
  "aria-current"?: string;
}

/** An app link: a plain click navigates in place; with a modifier key the browser does its thing. */
export function Link(props: LinkProps) {
  const { href, children, ...rest } = props;
  const onClick = (e: MouseEvent) => {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(href);
  };
  return html`<a ...${rest} href=${`${BASE}${href}`} onClick=${onClick}>${children}</a>`;
}
