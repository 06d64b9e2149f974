// The debugger in headless Chromium against real `kronos serve` processes on real PostgreSQL:
// the runs list, scrubbing the timeline, live updates, XSS, the token prompt, and "Fork from
// here" after the fix is deployed (the node restarted with checkout v2), with the compare view.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Timestamp, timestampMs } from "@bufbuild/protobuf/wkt";
import type { Page } from "playwright-core";
import { createKronosClient, JobState, RunStatus, toValue } from "../../src/client/index.ts";
import { openBrowser, type TestBrowser } from "../support/browser.ts";
import { type NodeProcess, spawnNode } from "../support/node-process.ts";
import { createPostgresDatabase, type TestDatabase } from "../support/postgres.ts";
import { waitFor } from "../support/wait.ts";

const FIXTURES = join(import.meta.dir, "fixtures");
const XSS = "<img src=x onerror=alert(1)>";
const TOKEN = "debugger-test-token";

let database: TestDatabase;
let node: NodeProcess;
let browser: TestBrowser;
let gates: string;
let base: string;
let token: string | undefined;

const client = () => createKronosClient(base, { token });
const page = (): Page => browser.page;

async function startNode(version: "v1" | "v2", env: Record<string, string> = {}) {
  node = await spawnNode({
    databaseUrl: database.url,
    workflows: [join(FIXTURES, `checkout-${version}.ts`), join(FIXTURES, "misc.ts")],
    env: { KRONOS_TEST_GATE_DIR: gates, ...env },
  });
  base = `http://127.0.0.1:${node.adminPort}`;
}

async function start(workflowName: string, input: Record<string, unknown>): Promise<string> {
  const { run } = await client().startWorkflow({ workflowName, input: toValue(input as never) });
  return run?.id as string;
}

function finished(runId: string) {
  return waitFor(`run ${runId} to finish`, async () => {
    const { run } = await client().getRun({ runId });
    return run && run.status !== RunStatus.RUNNING ? run : undefined;
  });
}

/** The state each step of the graph shows. */
function graphStates(): Promise<Record<string, string>> {
  return page().$$eval("[data-step]", (nodes) =>
    Object.fromEntries(nodes.map((n) => [n.getAttribute("data-step"), n.getAttribute("data-state")])),
  );
}

const position = () => page().$eval("[data-position]", (el) => Number(el.getAttribute("data-position")));

/** Waits until the timeline shows event `seq`; the timeout names the position it is at instead. */
async function waitForPosition(seq: number): Promise<void> {
  try {
    await page().waitForFunction(
      (s) => document.querySelector("[data-position]")?.getAttribute("data-position") === String(s),
      seq,
      { timeout: 5_000 },
    );
  } catch {
    throw new Error(`the timeline is at #${await position()}, not at #${seq}`);
  }
}

let completedRun: string;
let failedRun: string;

beforeAll(async () => {
  gates = mkdtempSync(join(tmpdir(), "kronos-gates-"));
  database = await createPostgresDatabase();
  [browser] = await Promise.all([openBrowser(), startNode("v1")]);
  completedRun = await start("checkout", { cart: ["apple", "pear"], currency: "EUR" });
  failedRun = await start("checkout", { cart: ["apple", "pear", "fig"], currency: "USD" });
  await Promise.all([finished(completedRun), finished(failedRun)]);
});

afterAll(async () => {
  await browser?.close();
  node?.kill("SIGTERM");
  // A node that has a dead job does not exit on SIGTERM at the moment (reported); do not wait forever.
  const exited = await Promise.race([node?.exited, new Promise((r) => setTimeout(() => r("timeout"), 5_000))]);
  if (exited === "timeout") {
    node.kill("SIGKILL");
    await node.exited;
  }
  await database?.close();
  rmSync(gates, { recursive: true, force: true });
});

describe("debugger UI", () => {
  test("the runs list shows a finished and a failed run, and filters by status", async () => {
    await page().goto(`${base}/debugger/`);
    const done = page().locator(`a:has([data-run-id="${completedRun}"])`);
    const failed = page().locator(`a:has([data-run-id="${failedRun}"])`);
    await done.waitFor();
    await failed.waitFor();
    expect(await done.locator("[data-state]").first().getAttribute("data-state")).toBe("completed");
    expect(await failed.locator("[data-state]").first().getAttribute("data-state")).toBe("failed");
    expect(await failed.textContent()).toContain("failed at price: no exchange rate for USD");
    expect(await done.textContent()).toContain("checkout@v1");
    await page().waitForSelector(".live-open");
    // The header: one node, which leads.
    await page().waitForSelector("[data-cluster=nodes]");
    expect(await page().textContent("[data-cluster=nodes]")).toBe("1");
    expect(await page().textContent("[data-cluster=leader]")).toMatch(/:\d+$/);
    expect(await page().textContent("[data-cluster=queue]")).toMatch(/^\d+$/);
    await browser.screenshot("runs-list");

    await page().selectOption("select >> nth=1", "failed");
    await done.waitFor({ state: "detached" });
    expect(await failed.isVisible()).toBe(true);
    // Search by the first characters of an id.
    await page().goto(`${base}/debugger/?q=${completedRun.slice(0, 6)}`);
    await done.waitFor();
  });

  test("scrubbing the timeline back to an earlier event changes the step states", async () => {
    await page().goto(`${base}/debugger/runs/${failedRun}`);
    await page().waitForSelector('[data-step="price"][data-state="failed"]');
    expect(await graphStates()).toEqual({
      "load-cart": "completed",
      price: "failed",
      receipt: "cancelled",
      notify: "cancelled",
    });
    const last = await position();

    // Keyboard: Home goes to the first event (run_started): nothing has run yet.
    const slider = page().getByRole("slider");
    await slider.focus();
    await page().keyboard.press("Home");
    await page().waitForSelector('[data-step="price"][data-state="pending"]');
    expect(await position()).toBe(1);
    expect(new Set(Object.values(await graphStates()))).toEqual(new Set(["pending"]));
    // Arrow keys step one event at a time: load-cart is scheduled, then running, then done.
    const seen: string[] = [];
    for (let i = 0; i < 3; i++) {
      await page().keyboard.press("ArrowRight");
      await waitForPosition(i + 2);
      seen.push((await graphStates())["load-cart"] as string);
    }
    expect(seen).toEqual(["scheduled", "running", "completed"]);

    // The inspector follows the position: load-cart's output exists now, price's does not yet.
    await page().click('[data-step="price"]');
    await page().waitForSelector('[data-inspecting="price"]');
    expect(await page().textContent('[data-inspecting="price"]')).toContain("Not known yet");

    // Click at the left end of the track: back to the first event; drag to the right end: the last.
    const box = (await slider.boundingBox()) as { x: number; y: number; width: number; height: number };
    await page().mouse.click(box.x + 1, box.y + box.height / 2);
    await waitForPosition(1);
    expect((await graphStates()).price).toBe("pending");
    await page().mouse.move(box.x + 1, box.y + box.height / 2);
    await page().mouse.down();
    await page().mouse.move(box.x + box.width / 2, box.y + box.height / 2, { steps: 4 });
    await page().mouse.move(box.x + box.width - 1, box.y + box.height / 2, { steps: 4 });
    await page().mouse.up();
    await waitForPosition(last);
    expect((await graphStates()).price).toBe("failed");

    // Back through price's retry: its second attempt failed, ran, and before that was announced.
    await slider.focus();
    await page().keyboard.press("ArrowLeft");
    await page().keyboard.press("ArrowLeft");
    await page().keyboard.press("ArrowLeft");
    await page().waitForSelector('[data-step="price"][data-state="retried"]');
    await page().keyboard.press("ArrowRight");
    await page().waitForSelector('[data-step="price"][data-state="running"]');
    const attempts = page().locator('[data-inspecting="price"] [data-attempt]');
    expect(await attempts.count()).toBe(2);
    expect(await attempts.first().textContent()).toContain("no exchange rate for USD");
    expect(await attempts.last().getAttribute("class")).toContain("attempt-running");
    await browser.screenshot("timeline-scrubbed");
    // Position and selection are in the URL: a reload comes back to the same moment.
    const pinned = await position();
    await page().waitForFunction((at) => new URLSearchParams(location.search).get("at") === String(at), pinned);
    await page().reload();
    await page().waitForSelector('[data-inspecting="price"]');
    expect(await position()).toBe(pinned);
  });

  test("a run in progress updates without a reload, in the list and on its page", async () => {
    await page().goto(`${base}/debugger/`);
    await page().waitForSelector(".live-open");
    await page().evaluate(() => {
      (window as unknown as { notReloaded: boolean }).notReloaded = true;
    });
    const gate = `gate-${Date.now()}`;
    const runId = await start("gated", { gate });
    // The new run's card appears by itself.
    const card = page().locator(`a:has([data-run-id="${runId}"])`);
    await card.waitFor({ timeout: 10_000 });
    await card.click();
    await page().waitForSelector('[data-step="wait-for-gate"][data-state="running"]');
    expect(await page().getAttribute("[data-run-status]", "data-run-status")).toBe("running");
    await browser.screenshot("run-live");

    writeFileSync(join(gates, gate), "open");
    await page().waitForSelector('[data-step="finish"][data-state="completed"]', { timeout: 15_000 });
    await page().waitForSelector('[data-run-status="completed"]', { timeout: 15_000 });
    expect(await page().evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true);
    expect(await graphStates()).toEqual({ prepare: "completed", "wait-for-gate": "completed", finish: "completed" });
  });

  test("a step output holding markup renders as text", async () => {
    const runId = await start("echo", { html: XSS });
    await finished(runId);
    await page().goto(`${base}/debugger/runs/${runId}?step=render`);
    const output = page().locator('[data-json="render output"]');
    await output.waitFor();
    expect(await output.textContent()).toContain(`"html": "${XSS}"`);
    expect(await output.textContent()).toContain('"<b>not bold</b>"');
    // The same value as an error message, and on the runs list.
    await page().click('[data-step="explode"]');
    await page().waitForSelector('[data-inspecting="explode"] .error-text');
    expect(await page().textContent('[data-inspecting="explode"] pre.error-text')).toBe(XSS);
    await page().click('[data-step="render"]');
    await output.waitFor();
    await browser.screenshot("xss-as-text");
    await page().goto(`${base}/debugger/`);
    await page().locator(`a:has([data-run-id="${runId}"])`).waitFor();
    expect(await page().textContent(`a:has([data-run-id="${runId}"])`)).toContain(XSS);
    // Nothing became an element, nothing ran.
    expect(await page().$$eval("img, b", (els) => els.length)).toBe(0);
    expect(browser.dialogs).toEqual([]);
  });

  test("usable on a narrow window: panes stack, nothing overflows the page", async () => {
    await page().setViewportSize({ width: 390, height: 844 });
    try {
      await page().goto(`${base}/debugger/runs/${failedRun}?step=price`);
      await page().waitForSelector('[data-inspecting="price"]');
      expect(await page().evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
      const graph = (await page().locator(".pane-graph").boundingBox()) as { y: number; height: number };
      const inspector = (await page().locator(".pane-inspector").boundingBox()) as { y: number };
      expect(inspector.y).toBeGreaterThanOrEqual(graph.y + graph.height);
      await page().getByRole("button", { name: "Fork from here" }).waitFor();
      await browser.screenshot("narrow-run");
    } finally {
      await page().setViewportSize({ width: 1280, height: 800 });
    }
  });

  test("with KRONOS_API_TOKEN set, the UI asks for the token once and sends it", async () => {
    // Deploy the fix: the node restarts with checkout v2, now with a token.
    await page().goto("about:blank");
    node.kill("SIGTERM");
    const code = await node.exited;
    if (code !== 0)
      console.error(
        node.logs
          .slice(-15)
          .map((l) => JSON.stringify(l))
          .join("\n"),
      );
    expect(code).toBe(0);
    await startNode("v2", { KRONOS_API_TOKEN: TOKEN });

    const unauthenticated = await fetch(`${base}/debugger/api/live`);
    expect(unauthenticated.status).toBe(401);

    await page().goto(`${base}/debugger/`);
    const dialog = page().getByRole("dialog");
    await dialog.waitFor();
    await browser.screenshot("token-prompt");
    await dialog.locator("input[type=password]").fill("wrong-token");
    await dialog.locator("button[type=submit]").click();
    await page().waitForSelector("text=The server refused that token");
    await dialog.locator("input[type=password]").fill(TOKEN);
    await dialog.locator("button[type=submit]").click();
    await dialog.waitFor({ state: "detached" });
    await page().locator(`a:has([data-run-id="${failedRun}"])`).waitFor();
    await page().waitForSelector(".live-open");
    // Kept for the session: a reload does not ask again.
    await page().reload();
    await page().locator(`a:has([data-run-id="${failedRun}"])`).waitFor();
    expect(await page().getByRole("dialog").count()).toBe(0);
    token = TOKEN;
  });

  test('"Fork from here" on the failed step, after the fix, makes a fork that completes; compare shows the change', async () => {
    await page().goto(`${base}/debugger/runs/${failedRun}?step=price`);
    await page().waitForSelector('[data-inspecting="price"]');
    await page().getByRole("button", { name: "Fork from here" }).click();
    await page().waitForURL(
      (url) => /\/debugger\/runs\/[0-9a-f-]{36}$/.test(url.pathname) && !url.pathname.includes(failedRun),
    );
    const forkId = (
      page()
        .url()
        .match(/runs\/([0-9a-f-]{36})/) as RegExpMatchArray
    )[1] as string;
    await page()
      .waitForSelector('[data-run-status="completed"]', { timeout: 20_000 })
      .catch(async (error: unknown) => {
        const shown = await page().getAttribute("[data-run-status]", "data-run-status");
        const { run } = await client().getRun({ runId: forkId });
        throw new Error(`the fork's page shows "${shown}", the API ${RunStatus[run?.status ?? 0]}: ${error}`);
      });
    await page().waitForSelector('[data-step="notify"][data-state="completed"]');
    expect(await graphStates()).toEqual({
      "load-cart": "reused",
      price: "completed",
      receipt: "completed",
      notify: "completed",
    });
    expect(await page().textContent(".run-title h1")).toBe("checkout@v2");
    expect(await page().getAttribute("[data-parent-link]", "href")).toBe(`/debugger/runs/${failedRun}`);

    await page().getByRole("link", { name: "Compare with parent" }).click();
    const price = page().locator('[data-compare-step="price"]');
    await price.waitFor();
    expect(await price.getAttribute("data-verdict")).toBe("changed");
    expect(await page().getAttribute('[data-compare-step="load-cart"]', "data-verdict")).toBe("reused");
    expect(await price.locator(".d-add").first().textContent()).toContain("{");
    expect(await price.textContent()).toContain('"USD"');
    expect(await price.textContent()).toContain("no exchange rate for USD");
    await browser.screenshot("compare-fixed-fork");

    // The parent links back to its fork.
    await page().goto(`${base}/debugger/runs/${failedRun}`);
    await page().waitForSelector(`[data-fork-link="${forkId}"]`);

    // Fork the completed v1 run too: v2 adds VAT, so outputs differ value by value.
    const { run } = await client().forkRun({ runId: completedRun, fromStep: "price" });
    await finished(run?.id as string);
    await page().goto(`${base}/debugger/runs/${run?.id}/compare`);
    await page().waitForSelector('[data-compare-step="price"][data-verdict="changed"]');
    const diffText = await page().textContent('[data-compare-step="price"] .d-rows');
    expect(diffText).toContain('"vat"');
    expect(await page().textContent('[data-compare-step="receipt"]')).toContain("output changed");
    await browser.screenshot("compare-values");
    expect(browser.dialogs).toEqual([]);
  });

  test("cancelling a running run from its page", async () => {
    const runId = await start("gated", { gate: `never-${Date.now()}` });
    await page().goto(`${base}/debugger/runs/${runId}`);
    await page().waitForSelector('[data-step="wait-for-gate"][data-state="running"]');
    await page().getByRole("button", { name: "Cancel run" }).click();
    await page().getByRole("button", { name: "Yes, cancel" }).click();
    await page().waitForSelector('[data-run-status="cancelled"]');
    await page().waitForSelector('[data-step="finish"][data-state="cancelled"]');
    expect((await client().getRun({ runId })).run?.status).toBe(RunStatus.CANCELLED);
  });

  test("dead letters: a dead job is listed with its error and can be re-queued", async () => {
    const { job } = await client().submitJob({
      type: "always-fails",
      payload: toValue({ to: "a@example.com" }),
      maxRetries: 0,
    });
    const id = String(job?.id);
    const dead = await waitFor("the job to die", async () => {
      const j = (await client().getJob({ id: job?.id ?? 0n })).job;
      return j?.state === JobState.DEAD ? j : undefined;
    });
    await page().goto(`${base}/debugger/dead`);
    const row = page().locator(`[data-job="${id}"]`);
    await row.waitFor();
    expect(await row.textContent()).toContain("mail server refused a@example.com");
    await browser.screenshot("dead-letters");
    await row.getByRole("button", { name: "Re-queue" }).click();
    await row.getByRole("button", { name: "Re-queued" }).waitFor();
    // It ran again (and died again: the handler still throws), with a fresh attempt count.
    const firstDeath = timestampMs(dead.finishedAt as Timestamp);
    await waitFor("the re-queued job to run again", async () => {
      const j = (await client().getJob({ id: job?.id ?? 0n })).job;
      return j?.state === JobState.DEAD && j.startedAt && timestampMs(j.startedAt) > firstDeath && j.attempt === 1;
    });
  });
});
