/**
 * The debugger on the admin app: the single-page UI under /debugger/ (any path that is not an
 * asset gets index.html, so /debugger/runs/<id> links and reloads work) and its API under
 * /debugger/api/. The page itself needs no token (it asks for one); everything with data does.
 */
import type { Context, Hono } from "hono";
import { bearerAuth } from "../api/auth.ts";
import type { Kronos } from "../kronos.ts";
import { createLogger, type Logger } from "../log.ts";
import { type Asset, asset, loadUiAssets, type UiAssets } from "./assets.ts";
import { RunChangeHub } from "./live.ts";
import { mountDebuggerApi } from "./routes.ts";

export interface DebuggerOptions {
  kronos: Kronos;
  /** KRONOS_API_TOKEN: when set, /debugger/api/ requires it, as the Connect API does. */
  apiToken?: string;
  log?: Logger;
  /** Where the UI's files come from (default: the embedded bundle, else built from ui/). */
  assets?: () => Promise<UiAssets>;
}

/** How long after start-up the UI is bundled (or read from the binary) if no page asked for it yet. */
const WARM_UP_DELAY_MS = 1_500;

/**
 * Step outputs are data from user code: the page must never run them. No inline script or style
 * is allowed, only the debugger's own files, and the page cannot be framed.
 */
const SECURITY_HEADERS: Record<string, string> = {
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
  "cross-origin-opener-policy": "same-origin",
};

function serveAsset(c: Context, a: Asset, cacheControl: string): Response {
  const etag = `"${a.hash}"`;
  const headers: Record<string, string> = {
    "content-type": a.type,
    etag,
    "cache-control": cacheControl,
    vary: "accept-encoding",
  };
  if (c.req.header("if-none-match") === etag) return new Response(null, { status: 304, headers });
  const gzip = /\bgzip\b/.test(c.req.header("accept-encoding") ?? "");
  if (gzip) headers["content-encoding"] = "gzip";
  return new Response((gzip ? a.gzip : a.body) as Uint8Array<ArrayBuffer>, { headers });
}

/**
 * Adds the debugger to the admin app (pass it as `mountAdmin` to startServers).
 *
 * @example
 * startServers({ ...options, mountAdmin: (app) => mountDebugger(app, { kronos, apiToken: config.apiToken, log }) });
 */
export function mountDebugger(app: Hono, o: DebuggerOptions): void {
  const log = (o.log ?? createLogger()).child({ component: "debugger" });
  const assets = o.assets ?? loadUiAssets;
  const hub = new RunChangeHub(o.kronos.db, log);
  let index: Asset | undefined;
  const ui = async () => {
    const loaded = await assets();
    if (!index) {
      // The page learns whether to ask for a token from index.html (so it reads storage only then).
      const html = new TextDecoder().decode(loaded.index.body);
      const hint = o.apiToken ? `<meta name="kronos-auth" content="token">\n</head>` : "</head>";
      index = asset(new TextEncoder().encode(html.replace("</head>", hint)), loaded.index.type);
      log.info("debugger UI ready", { source: loaded.source, ms: loaded.ms });
    }
    return { ...loaded, index };
  };

  // Loaded a moment after start-up, in the background, so the first page load finds it ready
  // without delaying start-up (bundling from source takes about 80 ms of the main thread; done at
  // once, it held "kronos is ready" back by as much). The first request loads it if it comes sooner.
  const warm = setTimeout(() => {
    ui().catch((error: unknown) => log.error("debugger UI could not be loaded", { error: String(error) }));
  }, WARM_UP_DELAY_MS);
  warm.unref?.();

  app.use("/debugger/*", async (c, next) => {
    await next();
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) c.res.headers.set(name, value);
  });
  app.get("/debugger", (c) => c.redirect("/debugger/", 301));
  app.use("/debugger/api/*", bearerAuth(o.apiToken));
  mountDebuggerApi(app, { kronos: o.kronos, hub, log });

  app.get("/debugger/assets/:name", async (c) => {
    const files = await ui();
    const file = files.files.get(c.req.param("name"));
    if (!file) return c.text(`no debugger asset ${c.req.param("name")}\n`, 404);
    // index.html asks for `app.js?v=<hash>`: that exact content never changes, so cache it for good.
    const pinned = c.req.query("v") === file.hash;
    return serveAsset(c, file, pinned ? "public, max-age=31536000, immutable" : "no-cache");
  });
  app.get("/debugger/*", async (c) => {
    try {
      return serveAsset(c, (await ui()).index, "no-cache");
    } catch (error) {
      log.error("debugger UI could not be loaded", { error: String(error) });
      return c.text(`The debugger UI could not be loaded: ${String(error)}\n`, 500);
    }
  });
}
