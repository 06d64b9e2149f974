/**
 * Builds the debugger UI (ui/main.ts, Preact + htm, and the CSS it imports) with Bun's bundler,
 * in memory. `kronos serve` from source calls it on the first request to /debugger/;
 * scripts/build-ui.ts writes its result to dist/ui/ for the compiled binary.
 */
import { join } from "node:path";

/** The three files of the UI. `html` refers to the others by URL, with their content hash. */
export interface UiFiles {
  html: string;
  js: Uint8Array;
  css: Uint8Array;
}

const ENTRY = join(import.meta.dir, "../../ui/main.ts");

/** Where the UI's files are served from; index.html names them absolutely so deep links work. */
export const ASSET_BASE = "/debugger/assets";

/** A short content hash, for cache-busting URLs (`app.js?v=…`). */
export function contentHash(bytes: Uint8Array): string {
  return new Bun.CryptoHasher("sha256").update(bytes).digest("hex").slice(0, 16);
}

/**
 * index.html of the single-page app. No inline script or style: the Content-Security-Policy the
 * debugger sends allows only its own files.
 */
export function indexHtml(js: Uint8Array, css: Uint8Array): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>Kronos debugger</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${ASSET_BASE}/app.css?v=${contentHash(css)}">
<script type="module" src="${ASSET_BASE}/app.js?v=${contentHash(js)}"></script>
</head>
<body>
<div id="app"><noscript>The Kronos debugger needs JavaScript.</noscript></div>
</body>
</html>
`;
}

/**
 * Bundles the UI for browsers, minified unless `minify` is false (readable profiles). Throws with
 * the bundler's messages on failure.
 */
export async function buildUi(options: { minify?: boolean } = {}): Promise<UiFiles> {
  const result = await Bun.build({
    entrypoints: [ENTRY],
    target: "browser",
    format: "esm",
    minify: options.minify ?? true,
    sourcemap: "none",
    naming: { entry: "app.[ext]", asset: "[name].[ext]", chunk: "[name].[ext]" },
    define: { "process.env.NODE_ENV": JSON.stringify("production") },
    throw: false,
  });
  if (!result.success) {
    throw new Error(`the debugger UI did not bundle:\n${result.logs.map((l) => String(l)).join("\n")}`);
  }
  let js: Uint8Array | undefined;
  let css: Uint8Array | undefined;
  for (const output of result.outputs) {
    if (output.kind !== "entry-point" && output.kind !== "asset") continue;
    if (output.path.endsWith(".js")) js = new Uint8Array(await output.arrayBuffer());
    else if (output.path.endsWith(".css")) css = new Uint8Array(await output.arrayBuffer());
  }
  if (!js || !css) {
    const names = result.outputs.map((o) => `${o.kind} ${o.path}`).join(", ");
    throw new Error(`the debugger UI bundle lacks app.js or app.css (got ${names})`);
  }
  return { html: indexHtml(js, css), js, css };
}
