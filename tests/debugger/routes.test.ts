// The debugger's server side on both databases, without a browser: the page and its assets (SPA
// fallback, security headers, caching), the token gate, the live SSE streams and run-id search.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Hono } from "hono";
import { asset, type UiAssets } from "../../src/debugger/assets.ts";
import { mountDebugger } from "../../src/debugger/index.ts";
import { uuidRange } from "../../src/debugger/routes.ts";
import { Kronos } from "../../src/kronos.ts";
import { silentLogger } from "../../src/log.ts";
import { workflow } from "../../src/workflow/define.ts";
import { backends, type TestDatabase } from "../support/postgres.ts";

const TOKEN = "routes-test-token";
const bytes = (text: string) => new TextEncoder().encode(text);

/** A stand-in bundle: these tests are about the routes, not about bundling (the browser test bundles). */
const fakeAssets = async (): Promise<UiAssets> => ({
  index: asset(bytes("<!doctype html><head><title>t</title></head><body>app</body>"), "text/html; charset=utf-8"),
  files: new Map([
    ["app.js", asset(bytes("console.log(1)"), "text/javascript; charset=utf-8")],
    ["app.css", asset(bytes("body{}"), "text/css; charset=utf-8")],
  ]),
  source: "bundled",
  ms: 0,
});

/** Reads SSE frames from a response until `enough` says so (or 10 s pass), then hangs up. */
async function readEvents(res: Response, enough: (frames: { event: string; data: unknown }[]) => boolean) {
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  const frames: { event: string; data: unknown }[] = [];
  let buffer = "";
  const deadline = Date.now() + 10_000;
  while (!enough(frames) && Date.now() < deadline) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let end = buffer.indexOf("\n\n");
    while (end >= 0) {
      const frame = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event = /^event: (.*)$/m.exec(frame)?.[1];
      const data = /^data: (.*)$/m.exec(frame)?.[1];
      if (event && data) frames.push({ event, data: JSON.parse(data) });
      end = buffer.indexOf("\n\n");
    }
  }
  await reader.cancel();
  return frames;
}

test("uuidRange turns an id prefix into the range of ids that start with it", () => {
  expect(uuidRange("3fa8")).toEqual({
    low: "3fa80000-0000-0000-0000-000000000000",
    high: "3fa8ffff-ffff-ffff-ffff-ffffffffffff",
  });
  expect(uuidRange("3FA85F64-5717")?.low).toBe("3fa85f64-5717-0000-0000-000000000000");
  expect(uuidRange("xyz")).toBeUndefined();
  expect(uuidRange("")).toBeUndefined();
});

for (const backend of backends) {
  describe(`debugger routes on ${backend.name}`, () => {
    let t: TestDatabase;
    let k: Kronos;
    let open: Hono;
    let locked: Hono;
    let runId: string;

    beforeAll(async () => {
      t = await backend.create();
      k = await Kronos.open({ db: t.db, log: silentLogger, worker: { pollIntervalMs: 50, concurrency: 4 } });
      await k.register(
        workflow<{ n: number }>("pair", "v1")
          .step("a", ({ n }) => n + 1)
          .step("b", (x) => ({ total: x * 2 }), { after: ["a"] }),
      );
      await k.start();
      runId = (await k.startRun({ workflowName: "pair", input: { n: 1 } })).runId;
      await k.waitForRun(runId);
      open = new Hono();
      mountDebugger(open, { kronos: k, log: silentLogger, assets: fakeAssets });
      locked = new Hono();
      mountDebugger(locked, { kronos: k, apiToken: TOKEN, log: silentLogger, assets: fakeAssets });
    });
    afterAll(async () => {
      await k.stop(0);
      await t.close();
    });

    test("any /debugger/ path that is not an asset gets index.html, with a strict CSP", async () => {
      for (const path of ["/debugger/", `/debugger/runs/${runId}`, "/debugger/dead", "/debugger/runs/x/compare"]) {
        const res = await open.request(path);
        expect({ path, status: res.status, type: res.headers.get("content-type") }).toEqual({
          path,
          status: 200,
          type: "text/html; charset=utf-8",
        });
        expect(res.headers.get("content-security-policy")).toContain("script-src 'self'");
        expect(res.headers.get("x-content-type-options")).toBe("nosniff");
        expect(await res.text()).toContain("app");
      }
      expect((await open.request("/debugger")).status).toBe(301);
      // With a token set, the page says so (it then reads the stored token); it needs none itself.
      const page = await locked.request("/debugger/");
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<meta name="kronos-auth" content="token">');
      expect(await (await open.request("/debugger/")).text()).not.toContain("kronos-auth");
    });

    test("assets: gzip when asked, cached for good at their hashed URL, 304 on a matching ETag", async () => {
      const files = await fakeAssets();
      const js = files.files.get("app.js");
      const pinned = await open.request(`/debugger/assets/app.js?v=${js?.hash}`, {
        headers: { "accept-encoding": "gzip" },
      });
      expect(pinned.headers.get("cache-control")).toContain("immutable");
      expect(pinned.headers.get("content-encoding")).toBe("gzip");
      const plain = await open.request("/debugger/assets/app.js");
      expect(plain.headers.get("cache-control")).toBe("no-cache");
      expect(await plain.text()).toBe("console.log(1)");
      const again = await open.request("/debugger/assets/app.js", {
        headers: { "if-none-match": plain.headers.get("etag") ?? "" },
      });
      expect(again.status).toBe(304);
      expect((await open.request("/debugger/assets/nope.js")).status).toBe(404);
    });

    test("with a token, the debugger's API answers 401 without it and works with it", async () => {
      const paths = ["/debugger/api/live", `/debugger/api/runs/${runId}/events`, "/debugger/api/runs?prefix=ab"];
      for (const path of paths) {
        expect({ path, status: (await locked.request(path)).status }).toEqual({ path, status: 401 });
        const wrong = await locked.request(path, { headers: { authorization: "Bearer nope" } });
        expect({ path, status: wrong.status }).toEqual({ path, status: 401 });
      }
      const ok = await locked.request(`/debugger/api/runs?prefix=${runId.slice(0, 4)}`, {
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      expect(ok.status).toBe(200);
    });

    test("a run's event stream sends its history as the API's JSON, then stays open for more", async () => {
      const res = await open.request(`/debugger/api/runs/${runId}/events?after=2`);
      expect(res.headers.get("content-type")).toContain("text/event-stream");
      const frames = await readEvents(res, (f) =>
        f.some((x) => (x.data as { type: string }[]).at?.(-1)?.type === "EVENT_TYPE_RUN_COMPLETED"),
      );
      const events = frames.flatMap((f) => f.data as { seq: number; type: string; step?: string }[]);
      expect(events[0]?.seq).toBe(3);
      expect(events.at(-1)).toMatchObject({ runId, type: "EVENT_TYPE_RUN_COMPLETED" });
      expect(new Set(events.map((e) => e.seq)).size).toBe(events.length);
    });

    test("the event stream refuses a bad id, a bad position and an unknown run", async () => {
      expect((await open.request("/debugger/api/runs/nope/events")).status).toBe(400);
      expect((await open.request(`/debugger/api/runs/${runId}/events?after=-1`)).status).toBe(400);
      const missing = await open.request("/debugger/api/runs/00000000-0000-4000-8000-000000000000/events");
      expect(missing.status).toBe(404);
      expect(await missing.json()).toEqual({
        code: "not_found",
        message: "run 00000000-0000-4000-8000-000000000000 does not exist",
      });
    });

    test("the live stream names the runs that change, batched", async () => {
      const res = await open.request("/debugger/api/live");
      // Start a run once the stream is listening: when its "ready" frame has been read.
      let started: Promise<string> | undefined;
      const frames = await readEvents(res, (f) => {
        if (!started && f.some((x) => x.event === "ready")) {
          started = k.startRun({ workflowName: "pair", input: { n: 2 } }).then((r) => r.runId);
        }
        return f.some((x) => x.event === "runs" && JSON.stringify(x.data).includes("runIds"));
      });
      if (!started) throw new Error("the live stream never said it was ready");
      const id = await started;
      expect(frames[0]?.event).toBe("ready");
      const named = frames
        .filter((f) => f.event === "runs")
        .flatMap((f) => (f.data as { runIds?: string[] }).runIds ?? []);
      expect(named).toContain(id);
      await k.waitForRun(id);
    });

    test("search by id prefix returns whole runs as the API's JSON, newest first", async () => {
      const res = await open.request(`/debugger/api/runs?prefix=${runId.slice(0, 8).toUpperCase()}`);
      const body = (await res.json()) as { runs: { id: string; workflowName: string; status: string }[] };
      expect(body.runs.find((r) => r.id === runId)).toMatchObject({
        workflowName: "pair",
        status: "RUN_STATUS_COMPLETED",
      });
      const bad = await open.request("/debugger/api/runs?prefix=not-hex");
      expect(bad.status).toBe(400);
      expect(((await bad.json()) as { message: string }).message).toContain(
        "prefix must be 1 to 32 hexadecimal digits",
      );
    });
  });
}
