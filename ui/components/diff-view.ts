/**
 * A JSON diff two ways: "Structure" is the value pretty-printed with removed lines (-), added
 * lines (+) and changed strings marked word by word, unchanged parts folded; "Paths" lists each
 * change at its path, as `kronos replay` prints them.
 */
import { html } from "htm/preact";
import type { VNode } from "preact";
import { useMemo, useState } from "preact/hooks";
import { changesOf, type Diff, diff, diffText, type JsonChange, textDiff } from "../lib/diff.ts";
import { plural } from "../lib/format.ts";
import { CopyButton } from "./bits.ts";
import { KeyLabel, Scalar } from "./json-view.ts";

type Sign = " " | "+" | "-";
type Key = string | number | undefined;

interface Ctx {
  rows: VNode[];
  open: ReadonlySet<string>;
  toggle(id: string): void;
}

/** Unchanged entries kept visible on each side of a change. */
const CONTEXT = 1;

function row(ctx: Ctx, sign: Sign, depth: number, content: unknown): void {
  const cls = sign === "+" ? "d-row d-add" : sign === "-" ? "d-row d-del" : "d-row";
  ctx.rows.push(
    html`<div class=${cls} key=${ctx.rows.length}>
      <span class="d-sign" aria-hidden="true">${sign}</span><span class="sr-only">${sign === "+" ? "added: " : sign === "-" ? "removed: " : ""}</span
      ><span class="d-code" style=${{ paddingLeft: `${depth * 2}ch` }}>${content}</span>
    </div>`,
  );
}

const comma = (c: boolean) => (c ? html`<span class="j-punct">,</span>` : null);

/** A whole value as lines, every line with the same sign. */
function valueRows(ctx: Ctx, sign: Sign, depth: number, k: Key, value: unknown, c: boolean): void {
  if (value === null || typeof value !== "object") {
    row(ctx, sign, depth, html`<${KeyLabel} k=${k} /><${Scalar} value=${value} />${comma(c)}`);
    return;
  }
  const entries: [string | number, unknown][] = Array.isArray(value)
    ? value.map((v, i) => [i, v])
    : Object.entries(value as Record<string, unknown>);
  const [o, cl] = Array.isArray(value) ? ["[", "]"] : ["{", "}"];
  if (entries.length === 0) {
    row(ctx, sign, depth, html`<${KeyLabel} k=${k} /><span class="j-punct">${o}${cl}</span>${comma(c)}`);
    return;
  }
  row(ctx, sign, depth, html`<${KeyLabel} k=${k} /><span class="j-punct">${o}</span>`);
  entries.forEach(([ck, cv], i) => {
    valueRows(ctx, sign, depth + 1, ck, cv, i < entries.length - 1);
  });
  row(ctx, sign, depth, html`<span class="j-punct">${cl}</span>${comma(c)}`);
}

function foldButton(ctx: Ctx, id: string, label: string) {
  return html`<button type="button" class="j-summary" aria-expanded="false" onClick=${() => ctx.toggle(id)}>${label}</button>`;
}

function changedString(ctx: Ctx, depth: number, k: Key, before: string, after: string, c: boolean): boolean {
  const pieces = textDiff(before, after);
  if (!pieces) return false;
  const side = (keep: "del" | "ins") =>
    html`<span class="j-str">"${pieces
      .filter((p) => p.op === "same" || p.op === keep)
      .map((p) =>
        p.op === "same"
          ? JSON.stringify(p.text).slice(1, -1)
          : html`<mark class=${keep === "del" ? "w-del" : "w-ins"}>${JSON.stringify(p.text).slice(1, -1)}</mark>`,
      )}"</span>`;
  row(ctx, "-", depth, html`<${KeyLabel} k=${k} />${side("del")}${comma(c)}`);
  row(ctx, "+", depth, html`<${KeyLabel} k=${k} />${side("ins")}${comma(c)}`);
  return true;
}

type Child = { k: string | number; diff: Diff };

/** Children of a changed object or array; runs of unchanged ones far from any change are folded. */
function childRows(ctx: Ctx, depth: number, id: string, children: Child[]): void {
  const near = children.map((_, i) =>
    children.slice(Math.max(0, i - CONTEXT), i + CONTEXT + 1).some((ch) => ch.diff.kind !== "same"),
  );
  let i = 0;
  while (i < children.length) {
    const ch = children[i] as Child;
    if (ch.diff.kind === "same" && !near[i]) {
      let j = i;
      while (j < children.length && (children[j] as Child).diff.kind === "same" && !near[j]) j++;
      const foldId = `${id}/fold${i}`;
      if (!ctx.open.has(foldId) && j - i > 1) {
        row(ctx, " ", depth, foldButton(ctx, foldId, `⋯ ${plural(j - i, "unchanged entry", "unchanged entries")}`));
        i = j;
        continue;
      }
    }
    diffRows(ctx, depth, ch.k, ch.diff, i < children.length - 1, `${id}/${String(ch.k)}`);
    i++;
  }
}

function diffRows(ctx: Ctx, depth: number, k: Key, d: Diff, c: boolean, id: string): void {
  switch (d.kind) {
    case "same": {
      const v = d.value;
      const big = v !== null && typeof v === "object" && Object.keys(v).length > 0;
      if (!big || ctx.open.has(id)) valueRows(ctx, " ", depth, k, v, c);
      else {
        const [o, cl] = Array.isArray(v) ? ["[", "]"] : ["{", "}"];
        const what = Array.isArray(v) ? plural(v.length, "item") : plural(Object.keys(v as object).length, "key");
        row(
          ctx,
          " ",
          depth,
          html`<${KeyLabel} k=${k} /><span class="j-punct">${o}</span>${foldButton(ctx, id, `${what}, unchanged`)}<span class="j-punct">${cl}</span>${comma(c)}`,
        );
      }
      return;
    }
    case "added":
      valueRows(ctx, "+", depth, k, d.value, c);
      return;
    case "removed":
      valueRows(ctx, "-", depth, k, d.value, c);
      return;
    case "changed":
      if (
        typeof d.before === "string" &&
        typeof d.after === "string" &&
        changedString(ctx, depth, k, d.before, d.after, c)
      )
        return;
      valueRows(ctx, "-", depth, k, d.before, c);
      valueRows(ctx, "+", depth, k, d.after, c);
      return;
    case "object":
      row(ctx, " ", depth, html`<${KeyLabel} k=${k} /><span class="j-punct">{</span>`);
      childRows(
        ctx,
        depth + 1,
        id,
        d.entries.map((e) => ({ k: e.key, diff: e.diff })),
      );
      row(ctx, " ", depth, html`<span class="j-punct">}</span>${comma(c)}`);
      return;
    case "array":
      row(ctx, " ", depth, html`<${KeyLabel} k=${k} /><span class="j-punct">[</span>`);
      childRows(
        ctx,
        depth + 1,
        id,
        d.items.map((it) => ({ k: (it.after ?? it.before) as number, diff: it.diff })),
      );
      row(ctx, " ", depth, html`<span class="j-punct">]</span>${comma(c)}`);
      return;
  }
}

const short = (v: unknown) => {
  const t = JSON.stringify(v ?? null);
  return t.length > 160 ? `${t.slice(0, 157)}…` : t;
};

function PathList(props: { changes: JsonChange[] }) {
  return html`<ul class="d-paths">
    ${props.changes.map(
      (c, i) => html`<li key=${i} class=${`d-path d-${c.kind}`}>
        <span class="d-sign" aria-hidden="true">${c.kind === "added" ? "+" : c.kind === "removed" ? "-" : "~"}</span>
        <code class="d-where">${c.path}</code>
        ${c.kind !== "added" && html`<code class="d-before">${short(c.before)}</code>`}
        ${c.kind === "changed" && html`<span aria-label="becomes">→</span>`}
        ${c.kind !== "removed" && html`<code class="d-after">${short(c.after)}</code>`}
      </li>`,
    )}
  </ul>`;
}

export interface DiffViewProps {
  before: unknown;
  after: unknown;
  /** Names of the two sides ("parent", "fork"). */
  beforeLabel: string;
  afterLabel: string;
}

export function DiffView(p: DiffViewProps) {
  const d = useMemo(() => diff(p.before, p.after), [p.before, p.after]);
  const changes = useMemo(() => changesOf(d), [d]);
  const [mode, setMode] = useState<"structure" | "paths">("structure");
  const [open, setOpen] = useState<ReadonlySet<string>>(new Set());
  if (d.kind === "same") return html`<p class="note">Identical.</p>`;
  const ctx: Ctx = {
    rows: [],
    open,
    toggle: (id) => setOpen((s) => new Set(s).add(id)),
  };
  if (mode === "structure") diffRows(ctx, 0, undefined, d, false, "$");
  const counts = { added: 0, removed: 0, changed: 0 };
  for (const c of changes) counts[c.kind]++;
  return html`<div class="diff" data-diff="true">
    <div class="diff-head">
      <span class="d-legend"><span class="d-del-chip">- ${p.beforeLabel}</span> <span class="d-add-chip">+ ${p.afterLabel}</span></span>
      <span class="muted">${counts.changed} changed · ${counts.added} added · ${counts.removed} removed</span>
      <span class="spacer"></span>
      <div class="seg" role="group" aria-label="Diff view">
        <button type="button" class="btn btn-small" aria-pressed=${mode === "structure"} onClick=${() => setMode("structure")}>Structure</button>
        <button type="button" class="btn btn-small" aria-pressed=${mode === "paths"} onClick=${() => setMode("paths")}>Paths</button>
      </div>
      <${CopyButton} text=${() => diffText(d)} label="Copy changes" title="Copy the changes as text, one path a line" />
    </div>
    ${mode === "structure" ? html`<div class="d-rows">${ctx.rows}</div>` : html`<${PathList} changes=${changes} />`}
  </div>`;
}
