/**
 * A JSON value as a syntax-highlighted, collapsible tree, with a copy button. Everything is
 * rendered as text nodes: a value holding markup shows the markup, it never becomes elements.
 */
import { html } from "htm/preact";
import type { VNode } from "preact";
import { useState } from "preact/hooks";
import { jsonSize, plural } from "../lib/format.ts";
import { CopyButton } from "./bits.ts";

/** Children shown before a "show more" button, for very long arrays and objects. */
const PAGE = 100;

type Expansion = { mode: "depth" | "all" | "none"; overrides: Map<string, boolean> };

export function Scalar(props: { value: unknown }): VNode {
  const v = props.value;
  if (v === null || v === undefined) return html`<span class="j-null">null</span>`;
  if (typeof v === "string") return html`<span class="j-str">${JSON.stringify(v)}</span>`;
  if (typeof v === "number") return html`<span class="j-num">${String(v)}</span>`;
  if (typeof v === "boolean") return html`<span class="j-bool">${String(v)}</span>`;
  return html`<span>${JSON.stringify(v)}</span>`;
}

export function KeyLabel(props: { k: string | number | undefined }): VNode | null {
  if (props.k === undefined) return null;
  return typeof props.k === "number"
    ? html`<span class="j-index">${props.k}</span><span class="j-punct">: </span>`
    : html`<span class="j-key">${JSON.stringify(props.k)}</span><span class="j-punct">: </span>`;
}

interface NodeProps {
  k?: string | number;
  value: unknown;
  path: string;
  depth: number;
  comma: boolean;
  initialDepth: number;
  expansion: Expansion;
  toggle(path: string, open: boolean): void;
}

function isOpen(p: NodeProps): boolean {
  const o = p.expansion.overrides.get(p.path);
  if (o !== undefined) return o;
  return p.expansion.mode === "all" ? true : p.expansion.mode === "none" ? false : p.depth < p.initialDepth;
}

function JsonNode(p: NodeProps): VNode {
  const { value } = p;
  const comma = p.comma ? html`<span class="j-punct">,</span>` : null;
  if (value === null || typeof value !== "object") {
    return html`<div class="j-line"><${KeyLabel} k=${p.k} /><${Scalar} value=${value} />${comma}</div>`;
  }
  const isArray = Array.isArray(value);
  const entries: [string | number, unknown][] = isArray
    ? value.map((v, i) => [i, v])
    : Object.entries(value as Record<string, unknown>);
  const [open_, close] = isArray ? ["[", "]"] : ["{", "}"];
  if (entries.length === 0) {
    return html`<div class="j-line"><${KeyLabel} k=${p.k} /><span class="j-punct">${open_}${close}</span>${comma}</div>`;
  }
  const open = isOpen(p);
  const summary = isArray ? plural(entries.length, "item") : plural(entries.length, "key");
  const toggle = html`<button
    type="button"
    class="j-toggle"
    aria-expanded=${open}
    aria-label=${`${open ? "Collapse" : "Expand"} ${p.k === undefined ? "value" : String(p.k)}`}
    onClick=${() => p.toggle(p.path, !open)}
  >
    ${open ? "▾" : "▸"}
  </button>`;
  if (!open) {
    return html`<div class="j-line">
      ${toggle}<${KeyLabel} k=${p.k} /><span class="j-punct">${open_}</span
      ><button type="button" class="j-summary" onClick=${() => p.toggle(p.path, true)}>${summary}</button
      ><span class="j-punct">${close}</span>${comma}
    </div>`;
  }
  return html`<div class="j-block">
    <div class="j-line">${toggle}<${KeyLabel} k=${p.k} /><span class="j-punct">${open_}</span></div>
    <${Children} ...${p} entries=${entries} />
    <div class="j-line"><span class="j-punct">${close}</span>${comma}</div>
  </div>`;
}

function Children(p: NodeProps & { entries: [string | number, unknown][] }): VNode {
  const [shown, setShown] = useState(PAGE);
  const visible = p.entries.slice(0, shown);
  return html`<div class="j-children">
    ${visible.map(
      ([k, v], i) =>
        html`<${JsonNode}
          key=${String(k)}
          k=${k}
          value=${v}
          path=${`${p.path}/${String(k)}`}
          depth=${p.depth + 1}
          comma=${i < p.entries.length - 1}
          initialDepth=${p.initialDepth}
          expansion=${p.expansion}
          toggle=${p.toggle}
        />`,
    )}
    ${
      p.entries.length > shown &&
      html`<button type="button" class="btn btn-small" onClick=${() => setShown(shown + PAGE * 5)}>
        Show ${Math.min(PAGE * 5, p.entries.length - shown)} more of ${p.entries.length - shown}
      </button>`
    }
  </div>`;
}

export interface JsonViewProps {
  value: unknown;
  label: string;
  /** Levels open at first (default: 2 for small values, 1 for larger ones). */
  initialDepth?: number;
}

/** Values bigger than this (as JSON text) open one level only, so large outputs draw quickly. */
const SMALL = 600;

export function JsonView(props: JsonViewProps): VNode {
  const [expansion, setExpansion] = useState<Expansion>({ mode: "depth", overrides: new Map() });
  const toggle = (path: string, open: boolean) =>
    setExpansion((e) => ({ mode: e.mode, overrides: new Map(e.overrides).set(path, open) }));
  const text = () => JSON.stringify(props.value ?? null, null, 2);
  const container = props.value !== null && typeof props.value === "object";
  return html`<div class="json" data-json=${props.label}>
    <div class="json-head">
      <span class="json-label">${props.label}</span>
      <span class="muted">${jsonSize(props.value)}</span>
      <span class="spacer"></span>
      ${
        container &&
        html`<button type="button" class="btn btn-small" onClick=${() => setExpansion({ mode: "all", overrides: new Map() })}>
            Expand all
          </button>
          <button type="button" class="btn btn-small" onClick=${() => setExpansion({ mode: "none", overrides: new Map() })}>
            Collapse all
          </button>`
      }
      <${CopyButton} text=${text} label="Copy" title=${`Copy ${props.label} as JSON`} />
    </div>
    <div class="json-body">
      <${JsonNode}
        value=${props.value ?? null}
        path=""
        depth=${0}
        comma=${false}
        initialDepth=${props.initialDepth ?? (JSON.stringify(props.value ?? null).length <= SMALL ? 2 : 1)}
        expansion=${expansion}
        toggle=${toggle}
      />
    </div>
  </div>`;
}
