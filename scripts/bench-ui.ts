#!/usr/bin/env bun
/**
 * Debugger UI figures for docs/benchmarks.md: the bundle's size (raw and gzipped) and the time to
 * first render of a run with 100 steps and about 1,000 events, in headless Chromium against a real
 * `kronos serve` on PostgreSQL.
 *
 *   bun scripts/bench-ui.ts [--loads 7] [--write] [--serve]
 *
 * DATABASE_URL is used when set, else a throwaway local PostgreSQL. Chromium runs with a fresh
 * temporary profile, and each page load is cold (a new browser context: no cache, no stored
 * state); the first one is a warm-up and is not counted.
 * --write replaces the "## Debugger UI" section of docs/benchmarks.md with the results; --serve
 * only records the run and keeps the server up, to look at it in a browser.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { chromium, type Page } from "playwright-core";
import { type LocalPostgres, startLocalPostgres } from "../src/db/local-server.ts";
import { buildUi } from "../src/debugger/bundle.ts";
import { workflow } from "../src/index.ts";
import { Kronos } from "../src/kronos.ts";
import { createLogger } from "../src/log.ts";
import { CHROMIUM, CHROMIUM_ARGS } from "../tests/support/browser.ts";
import { spawnNode } from "../tests/support/node-process.ts";

const ROOT = join(import.meta.dir, "..");
const LAYERS = 10;
const WIDTH = 10;

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    loads: { type: "string", default: "7" },
    write: { type: "boolean", default: false },
    serve: { type: "boolean", default: false },
  },
  strict: true,
});
const loads = Math.max(2, Number(values.loads));
const log = (line: string) => process.stderr.write(`${line}\n`);
const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2
    ? (s[(s.length - 1) / 2] as number)
    : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2;
};
const stats = (xs: number[]) =>
  `${Math.round(median(xs))} ms (min ${Math.round(Math.min(...xs))}, max ${Math.round(Math.max(...xs))})`;

/**
 * 100 steps in 10 layers of 10, each depending on two steps of the layer above. Every step fails
 * its first two attempts and a third of them a third one too: 9 or 12 events a step, 1,001 in all.
 */
function benchWorkflow() {
  type Loose = { step(name: string, fn: (input: unknown, ctx: { attempt: number }) => unknown, o: object): Loose };
  let wf = workflow<{ seed: number }>("ui-bench", "v1") as unknown as Loose;
  for (let l = 0; l < LAYERS; l++) {
    for (let i = 0; i < WIDTH; i++) {
      const name = `s${l}-${i}`;
      const failures = 2 + (l * WIDTH + i < 33 ? 1 : 0);
      const after = l === 0 ? [] : [`s${l - 1}-${i}`, `s${l - 1}-${(i + 1) % WIDTH}`];
      wf = wf.step(
        name,
        (_input, ctx) => {
          if (ctx.attempt <= failures) throw new Error(`${name}: transient failure on attempt ${ctx.attempt}`);
          return {
            step: name,
            layer: l,
            attempt: ctx.attempt,
            values: [l, i, l * i, l + i],
            note: `output of ${name}`,
          };
        },
        { after, retries: 3 },
      );
    }
  }
  return wf as never;
}

async function recordRun(databaseUrl: string): Promise<{ runId: string; events: number }> {
  const k = await Kronos.open({
    databaseUrl,
    log: createLogger({ level: "error" }),
    // Retries after a few ms, and a fast poll to pick them up: the history takes seconds, not minutes.
    worker: { concurrency: 20, pollIntervalMs: 20, retry: { baseMs: 1, capMs: 5 } },
  });
  try {
    await k.use(benchWorkflow());
    await k.start();
    const { runId } = await k.startRun({ workflowName: "ui-bench", input: { seed: 1 } });
    const run = await k.waitForRun(runId, 120_000);
    if (run.status !== "completed") throw new Error(`the bench run ended ${run.status}`);
    const { events } = await import("../src/store/index.ts");
    return { runId, events: (await events.list(k.db, { runId })).length };
  } finally {
    await k.stop(1_000);
  }
}

/** `kronos serve` on the database, as a child process like the tests start it. */
async function serve(databaseUrl: string): Promise<{ base: string; stop(): Promise<void> }> {
  const node = await spawnNode({ databaseUrl });
  return {
    base: `http://127.0.0.1:${node.adminPort}`,
    stop: async () => {
      node.kill("SIGTERM");
      await node.exited;
    },
  };
}

interface Load {
  total: number;
  /** Navigation start to the bundle running (its first line). */
  boot: number;
  api: number;
  render: number;
  /** Preact's work alone: both answers in hand to the page in the DOM. */
  js: number;
  /** Navigation start to the first frame painted after that. */
  painted: number;
}

/** Timings of the page's load of the run, from its performance entries. */
async function measure(page: Page): Promise<Load> {
  await page.waitForSelector("html[data-run-rendered]", { timeout: 30_000 });
  await page.waitForFunction(() => performance.getEntriesByName("kronos:run-painted").length > 0);
  return page.evaluate(() => {
    const at = (name: string) => performance.getEntriesByName(name)[0]?.startTime ?? Number.NaN;
    const rendered = at("kronos:run-rendered");
    const api = (performance.getEntriesByType("resource") as PerformanceResourceTiming[]).filter((r) =>
      /KronosService\/(GetRun|GetRunEvents)$/.test(r.name),
    );
    const dataEnd = Math.max(...api.map((r) => r.responseEnd));
    const apiStart = Math.min(...api.map((r) => r.startTime));
    return {
      total: rendered,
      boot: at("kronos:boot"),
      api: dataEnd - apiStart,
      render: rendered - dataEnd,
      js: rendered - at("kronos:run-data"),
      painted: at("kronos:run-painted"),
    };
  });
}

async function main() {
  const bundleStarted = performance.now();
  const ui = await buildUi();
  const bundleMs = Math.round(performance.now() - bundleStarted);
  const sizes = {
    js: ui.js.length,
    jsGz: Bun.gzipSync(ui.js as Uint8Array<ArrayBuffer>).length,
    css: ui.css.length,
    cssGz: Bun.gzipSync(ui.css as Uint8Array<ArrayBuffer>).length,
  };
  log(
    `bundle: app.js ${kb(sizes.js)} (${kb(sizes.jsGz)} gz), app.css ${kb(sizes.css)} (${kb(sizes.cssGz)} gz), built in ${bundleMs} ms`,
  );

  let local: LocalPostgres | undefined;
  if (!process.env.DATABASE_URL) local = await startLocalPostgres();
  const databaseUrl = process.env.DATABASE_URL ?? (local as LocalPostgres).url;
  try {
    const { runId, events } = await recordRun(databaseUrl);
    log(`recorded run ${runId}: 100 steps, ${events} events`);
    const server = await serve(databaseUrl);
    if (values.serve) {
      // Keep the server up to look at the run (or profile it); Ctrl-C ends.
      log(`serving ${server.base}/debugger/runs/${runId} (Ctrl-C to stop)`);
      await new Promise<void>((resolve) => {
        process.once("SIGINT", () => resolve());
        process.once("SIGTERM", () => resolve());
      });
      await server.stop();
      return;
    }
    const browser = await chromium
      .launch({
        executablePath: CHROMIUM,
        args: CHROMIUM_ARGS,
      })
      .catch(async (error: unknown) => {
        await server.stop();
        throw error;
      });
    const results: Load[] = [];
    const warmResults: Load[] = [];
    const scrubs: number[] = [];
    try {
      for (let i = 0; i < loads; i++) {
        const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
        const page = await context.newPage();
        // Cold: a new context, nothing cached. Warm: the same page reloaded (bundle from cache).
        await page.goto(`${server.base}/debugger/runs/${runId}`);
        const cold = await measure(page);
        await page.reload();
        const warm = await measure(page);
        if (i > 0) {
          results.push(cold);
          warmResults.push(warm);
        }
        if (i === loads - 1) {
          // Scrubbing: one event back, timed in the page from key press to the next frame.
          for (let s = 0; s < 20; s++) {
            scrubs.push(
              await page.evaluate(async () => {
                const slider = document.querySelector<HTMLElement>("[role=slider]");
                const before = document.querySelector("[data-position]")?.getAttribute("data-position");
                const t0 = performance.now();
                slider?.dispatchEvent(new KeyboardEvent("keydown", { key: "ArrowLeft", bubbles: true }));
                for (;;) {
                  await new Promise((r) => requestAnimationFrame(() => r(undefined)));
                  if (document.querySelector("[data-position]")?.getAttribute("data-position") !== before) break;
                }
                return performance.now() - t0;
              }),
            );
          }
        }
        await context.close();
      }
    } finally {
      await browser.close();
      await server.stop();
    }
    const version = Bun.spawnSync([CHROMIUM, "--version"]).stdout.toString().trim();
    const report = `## Debugger UI

Measured ${new Date().toISOString().slice(0, 10)} with \`bun scripts/bench-ui.ts --loads ${loads}\` on ${cpus().length} vCPUs
(${cpus()[0]?.model.trim() ?? "unknown CPU"}), Bun ${Bun.version}, ${version}, headless, 1280x800; PostgreSQL
${process.env.DATABASE_URL ? "from DATABASE_URL" : "throwaway local server"}. The machine is shared with other work (load average
${loadavg()[0]?.toFixed(1)} at the end of the run): the spread between min and max is mostly other processes.

| Bundle (minified, Preact + htm + Connect client) | Raw | Gzipped | Target |
|---|---|---|---|
| app.js | ${kb(sizes.js)} | ${kb(sizes.jsGz)} | |
| app.css | ${kb(sizes.css)} | ${kb(sizes.cssGz)} | |
| Total | ${kb(sizes.js + sizes.css)} | ${kb(sizes.jsGz + sizes.cssGz)} | < 150 KB gz |

Bundling with \`Bun.build\` in memory took ${bundleMs} ms here. \`kronos serve\` from source does it once per
process, in the background 1.5 s after start-up (or at the first page request, if sooner), so it
does not hold start-up back; the compiled binary reads the prebuilt dist/ui/ it embeds instead.

Time to first render of a run with 100 steps and ${events} events (\`/debugger/runs/<id>\`, cold load, no
cache; median of ${results.length} loads after a warm-up):

| | Median (min, max) | Target |
|---|---|---|
| Cold load (nothing cached): navigation start to the run drawn (graph, timeline, inspector in the DOM) | ${stats(results.map((r) => r.total))} | < 200 ms |
| of which: HTML, CSS and bundle fetched, bundle parsed and started | ${stats(results.map((r) => r.boot))} | |
| then: GetRun + GetRunEvents (sent as the bundle starts, in parallel) | ${stats(results.map((r) => r.api))} | |
| then: last answer in to the run drawn (decode, derive the states from ${events} events, render) | ${stats(results.map((r) => r.render))} | |
| of which Preact's render alone (both answers decoded, to the page in the DOM) | ${stats(results.map((r) => r.js))} | |
| Cold load: navigation start to the first frame painted with the run | ${stats(results.map((r) => r.painted))} | |
| Warm load (reload; bundle from the browser's cache): navigation start to the run drawn | ${stats(warmResults.map((r) => r.total))} | < 200 ms |
| of which: last answer in to the run drawn | ${stats(warmResults.map((r) => r.render))} | |
| of which Preact's render alone | ${stats(warmResults.map((r) => r.js))} | |
| One step of the timeline scrubber (arrow key to next frame, 20 steps) | ${stats(scrubs)} | |

Against the targets: the bundle is ${kb(sizes.jsGz + sizes.cssGz)} gzipped (< 150 KB: ${sizes.jsGz + sizes.cssGz < 150 * 1024 ? "met" : "missed"}).
A cold load draws the run in ${Math.round(median(results.map((r) => r.total)))} ms (median) and a warm one in
${Math.round(median(warmResults.map((r) => r.total)))} ms (< 200 ms: ${median(results.map((r) => r.total)) < 200 ? "met" : median(warmResults.map((r) => r.total)) < 200 ? "met warm, missed cold" : "missed"} on this machine); rendering the run once its data
is in takes Preact ${Math.round(median(results.map((r) => r.js)))} ms.

How the page gets there: the first lines of the bundle (ui/early.ts) send GetRun and GetRunEvents as
plain binary Connect requests before the rest of the bundle is evaluated; the app waits up to
400 ms for both answers so that its first render is the whole run (one style and layout pass, no
"loading" frame). The states are derived by replaying the ${events} events (ui/lib/derive.ts), the
timeline's ticks are one SVG path per kind of event, and steps scrolled out of view are not laid
out (\`content-visibility\`). What remains on a cold load is mostly fetching and evaluating the
bundle (the protobuf runtime is about half of it) and the first style and layout of about a
thousand elements; Preact's own render is the smaller part.
`;
    process.stdout.write(`${report}\n`);
    if (values.write) writeSection(report);
  } finally {
    local?.destroy();
  }
}

/** Replaces (or appends) the "## Debugger UI" section of docs/benchmarks.md, leaving the others alone. */
function writeSection(section: string) {
  const file = join(ROOT, "docs/benchmarks.md");
  let text = "";
  try {
    text = readFileSync(file, "utf8");
  } catch {
    text = "# Benchmarks\n";
  }
  const start = text.indexOf("## Debugger UI");
  if (start < 0) {
    text = `${text.trimEnd()}\n\n${section}`;
  } else {
    const next = text.indexOf("\n## ", start + 1);
    text = `${text.slice(0, start)}${section}${next < 0 ? "" : `\n${text.slice(next + 1)}`}`;
  }
  writeFileSync(file, text);
  log(`wrote the "Debugger UI" section of ${file}`);
}

await main();
