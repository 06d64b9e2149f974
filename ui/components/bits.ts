/** Small pieces used everywhere: status badges, copy buttons, error boxes. */
import { Code, ConnectError } from "@connectrpc/connect";
import { html } from "htm/preact";
import { useEffect, useState } from "preact/hooks";
import { errorText } from "../api.ts";
import type { RunState, StepState } from "../lib/derive.ts";
import { STATE_LABELS } from "../lib/runs.ts";

export function StatusBadge(props: { state: StepState | RunState; title?: string }) {
  return html`<span class=${`badge state-${props.state}`} data-state=${props.state} title=${props.title}
    ><span class="dot" aria-hidden="true"></span>${STATE_LABELS[props.state]}</span
  >`;
}

/** Puts text on the clipboard; falls back to a hidden textarea where the Clipboard API is absent (plain http). */
async function copyText(text: string): Promise<void> {
  if (navigator.clipboard && window.isSecureContext) {
    await navigator.clipboard.writeText(text);
    return;
  }
  const area = document.createElement("textarea");
  area.value = text;
  area.setAttribute("readonly", "");
  area.className = "offscreen";
  document.body.append(area);
  area.select();
  const ok = document.execCommand("copy");
  area.remove();
  if (!ok) throw new Error("copy refused");
}

export function CopyButton(props: { text: string | (() => string); label?: string; title?: string }) {
  const [state, setState] = useState<"idle" | "copied" | "failed">("idle");
  useEffect(() => {
    if (state === "idle") return;
    const t = setTimeout(() => setState("idle"), 1_500);
    return () => clearTimeout(t);
  }, [state]);
  const onClick = () => {
    const text = typeof props.text === "function" ? props.text() : props.text;
    copyText(text).then(
      () => setState("copied"),
      () => setState("failed"),
    );
  };
  const label = props.label ?? "Copy";
  return html`<button type="button" class="btn btn-small copy" onClick=${onClick} title=${props.title ?? label}>
    ${state === "copied" ? "Copied" : state === "failed" ? "Copy failed" : label}
    <span class="sr-only" aria-live="polite">${state === "copied" ? "copied to the clipboard" : ""}</span>
  </button>`;
}

export function ErrorBox(props: { error: unknown; onRetry?: () => void }) {
  if (props.error instanceof ConnectError && props.error.code === Code.Unauthenticated) {
    return html`<p class="note" role="status">This server needs its API token to show this.</p>`;
  }
  return html`<div class="error-box" role="alert">
    <span>${errorText(props.error)}</span>
    ${props.onRetry && html`<button type="button" class="btn btn-small" onClick=${props.onRetry}>Try again</button>`}
  </div>`;
}

export function Loading(props: { what: string }) {
  return html`<p class="loading" role="status">Loading ${props.what}…</p>`;
}
