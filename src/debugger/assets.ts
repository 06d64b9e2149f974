/**
 * Where the debugger's files come from. The compiled binary carries a prebuilt bundle
 * (dist/ui/, made by scripts/build-ui.ts, embedded by ./embedded.ts); from source, the UI is
 * bundled in memory the first time it is asked for, once per process.
 */
import { buildUi, contentHash, type UiFiles } from "./bundle.ts";

/** One file ready to serve: its bytes, their gzip, and its content hash (the ETag, and `?v=` in URLs). */
export interface Asset {
  body: Uint8Array;
  gzip: Uint8Array;
  type: string;
  hash: string;
}

export interface UiAssets {
  index: Asset;
  files: ReadonlyMap<string, Asset>;
  /** "embedded" (prebuilt, from the binary) or "bundled" (Bun.build in this process). */
  source: "embedded" | "bundled";
  /** Time taken to bundle or read the files, in ms. */
  ms: number;
}

/** Paths of a prebuilt bundle: files imported `with { type: "file" }` (under /$bunfs/ in a binary). */
export interface EmbeddedUiPaths {
  html: string;
  js: string;
  css: string;
}

let embedded: EmbeddedUiPaths | undefined;
let loading: Promise<UiAssets> | undefined;

/** Makes `loadUiAssets` serve a prebuilt bundle instead of bundling ui/ (the binary's entry calls it). */
export function provideUiAssets(paths: EmbeddedUiPaths): void {
  embedded = paths;
  loading = undefined;
}

/** A file ready to serve, its gzip made once. */
export function asset(body: Uint8Array, type: string): Asset {
  return { body, gzip: Bun.gzipSync(body as Uint8Array<ArrayBuffer>), type, hash: contentHash(body) };
}

async function readEmbedded(paths: EmbeddedUiPaths): Promise<UiFiles> {
  const [html, js, css] = await Promise.all([
    Bun.file(paths.html).text(),
    Bun.file(paths.js).bytes(),
    Bun.file(paths.css).bytes(),
  ]);
  return { html, js, css };
}

/**
 * The UI's files, loaded once per process: the embedded bundle when one was provided, else a
 * fresh in-memory build of ui/. A failed build is not cached, so fixing the source and reloading
 * the page tries again.
 */
export function loadUiAssets(): Promise<UiAssets> {
  loading ??= (async () => {
    const started = performance.now();
    const source = embedded ? "embedded" : "bundled";
    const files = embedded ? await readEmbedded(embedded) : await buildUi();
    return {
      index: asset(new TextEncoder().encode(files.html), "text/html; charset=utf-8"),
      files: new Map([
        ["app.js", asset(files.js, "text/javascript; charset=utf-8")],
        ["app.css", asset(files.css, "text/css; charset=utf-8")],
      ]),
      source,
      ms: Math.round(performance.now() - started),
    } satisfies UiAssets;
  })();
  const current = loading;
  current.catch(() => {
    if (loading === current) loading = undefined;
  });
  return current;
}
