// The API in this process (startServers over a Kronos node on each database backend), where a test
// can hold a step open, make dead jobs with the factory and read the metrics: live streaming, cancel,
// paging with page tokens, dead-letter retry, metrics of refused calls, and closing with open streams.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { createConnectTransport } from "@connectrpc/connect-web";
import { HealthState } from "../../src/api/health.ts";
import { type RunningServers, startServers } from "../../src/api/servers.ts";
import { loadConfig } from "../../src/config/index.ts";
import type { Database } from "../../src/db/index.ts";
import { Health, HealthCheckResponse_ServingStatus as Serving } from "../../src/gen/grpc/health/v1/health_pb.ts";
import { EventType, JobState, RunStatus } from "../../src/gen/kronos/v1/kronos_pb.ts";
import { createKronosClient, fromValue, Kronos, type KronosClient, toValue, workflow } from "../../src/index.ts";
import { silentLogger } from "../../src/log.ts";
import { createKronosMetrics, MetricsRegistry } from "../../src/metrics/index.ts";
import * as factory from "../support/factory.ts";
import { backends, type TestDatabase } from "../support/postgres.ts";
import { deferred, waitFor } from "../support/wait.ts";
import { postJson } from "./helpers.ts";

const fast = { pollIntervalMs: 50, leaseMs: 5_000, retry: { baseMs: 1, capMs: 5 }, concurrency: 20 };

/** Steps of "gated" runs wait here until the test opens their gate (or the run is cancelled). */
const gates = new Map<string, ReturnType<typeof deferred>>();
const gateOf = (runId: string) => {
  let gate = gates.get(runId);
  if (!gate) {
    gate = deferred();
    gates.set(runId, gate);
  }
  return gate;
};
const aborted = (signal: AbortSignal) =>
  new Promise<never>((_, reject) =>
    signal.addEventListener("abort", () => reject(new Error("aborted")), { once: true }),
  );

const gated = workflow<{ label: string }>("gated", "v1")
  .step("wait", async (input, { runId, signal }) => {
    await Promise.race([gateOf(runId).promise, aborted(signal)]);
    return input.label;
  })
  .step("after", (label) => ({ done: label }), { after: ["wait"] });
const pager = (version: string) => workflow<number>("pager", version).step("echo", (n) => n);

/** Reads a stream into event types until it ends, calling `onEvent` after each. */
async function drain(
  stream: AsyncIterable<{ event?: { type: EventType; seq: number; step: string } }>,
  onEvent = (_: { type: EventType; step: string }) => {},
) {
  const seen: { type: EventType; seq: number; step: string }[] = [];
  for await (const { event } of stream) {
    if (!event) continue;
    seen.push(event);
    onEvent(event);
  }
  return seen;
}

for (const backend of backends) {
  describe(`API in process on ${backend.name}`, () => {
    let t: TestDatabase;
    let db: Database;
    let kronos: Kronos;
    let servers: RunningServers;
    let client: KronosClient;
    let admin: string;
    const health = new HealthState("SERVING");
    const registry = new MetricsRegistry();
    const config = loadConfig({
      env: {},
      flags: {
        "admin-addr": "127.0.0.1:0",
        "grpc-addr": "127.0.0.1:0",
        "metrics-addr": "off",
        "leader-check": "100ms",
      },
    });
    const serve = () =>
      startServers({
        kronos,
        config,
        health,
        metrics: registry,
        log: silentLogger,
        rpcMetrics: createKronosMetrics(new MetricsRegistry()),
      });

    beforeAll(async () => {
      t = await backend.create();
      db = t.db;
      kronos = await Kronos.open({ db, log: silentLogger, worker: fast, leaderCheckMs: 100 });
      await kronos.register(gated, pager("v1"), pager("v2"));
      await kronos.start();
      servers = await startServers({
        kronos,
        config,
        health,
        metrics: registry,
        log: silentLogger,
        rpcMetrics: createKronosMetrics(registry),
      });
      admin = `http://127.0.0.1:${servers.adminPort}`;
      client = createKronosClient(admin);
    });

    afterAll(async () => {
      for (const gate of gates.values()) gate.resolve(undefined);
      await servers.close();
      await kronos.stop(0);
      await t.close();
    });

    test("StreamRunEvents sends the history, then live events, and ends at the final event", async () => {
      const { run } = await client.startWorkflow({ workflowName: "gated", input: toValue({ label: "live" }) });
      const runId = run?.id ?? "";
      const events = await drain(client.streamRunEvents({ runId }), (e) => {
        // The step cannot finish before this: everything after it arrives live.
        if (e.type === EventType.STEP_STARTED && e.step === "wait") gateOf(runId).resolve(undefined);
      });
      expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
      expect(events.at(-1)?.type).toBe(EventType.RUN_COMPLETED);
      const view = await client.getRun({ runId });
      expect(fromValue(view.run?.output)).toEqual({ done: "live" });
      // From the middle of a finished run's log: the rest, then the end.
      const tail = await drain(client.streamRunEvents({ runId, afterSeq: events.length - 2 }));
      expect(tail.map((e) => e.seq)).toEqual([events.length - 1, events.length]);
    });

    test("CancelRun stops a running run, ends its stream with run_cancelled, and refuses a second cancel", async () => {
      const { run } = await client.startWorkflow({ workflowName: "gated", input: toValue({ label: "cancel" }) });
      const runId = run?.id ?? "";
      let cancelled: Promise<unknown> | undefined;
      const events = await drain(client.streamRunEvents({ runId }), (e) => {
        if (e.type === EventType.STEP_STARTED) cancelled ??= client.cancelRun({ runId });
      });
      expect(await cancelled).toMatchObject({ run: { status: RunStatus.CANCELLED } });
      expect(events.at(-1)?.type).toBe(EventType.RUN_CANCELLED);
      const again = await client.cancelRun({ runId }).catch((e: unknown) => ConnectError.from(e));
      expect(again).toMatchObject({ code: Code.FailedPrecondition });
    });

    test("a client hanging up ends the stream on the server (counted as canceled)", async () => {
      const { run } = await client.startWorkflow({ workflowName: "gated", input: toValue({ label: "hang-up" }) });
      const hangUp = new AbortController();
      const stream = client.streamRunEvents({ runId: run?.id ?? "" }, { signal: hangUp.signal });
      const first = await stream[Symbol.asyncIterator]().next();
      expect(first.value?.event?.type).toBe(EventType.RUN_STARTED);
      hangUp.abort();
      await waitFor("the server to end the abandoned stream", async () =>
        (await registry.render()).includes(
          'kronos_rpc_requests_total{method="kronos.v1.KronosService/StreamRunEvents",code="canceled"} 1',
        ),
      );
      await client.cancelRun({ runId: run?.id ?? "" });
    });

    test("ListRuns pages through runs sharing one created_at, without skipping or repeating", async () => {
      // One transaction: every run gets the same created_at, so only the id breaks ties.
      const same = await db.transaction(async (tx) => {
        const ids: string[] = [];
        for (let n = 0; n < 5; n++) ids.push((await kronos.startRun({ workflowName: "pager", input: n }, tx)).runId);
        return ids;
      });
      const apart = [];
      for (let n = 5; n < 8; n++) apart.push((await kronos.startRun({ workflowName: "pager", input: n })).runId);
      const pages: string[][] = [];
      let pageToken = "";
      do {
        const page = await client.listRuns({ workflowName: "pager", pageSize: 3, pageToken });
        pages.push(page.runs.map((r) => r.id));
        pageToken = page.nextPageToken;
      } while (pageToken !== "");
      expect(pages.map((p) => p.length)).toEqual([3, 3, 2]);
      expect(pages.flat().slice(0, 3).sort()).toEqual([...apart].sort());
      expect(pages.flat().slice(3)).toEqual([...same].sort().reverse());
      const { runs } = await client.listRuns({ workflowName: "pager", pageSize: 1 });
      expect(runs[0]).toMatchObject({ workflowVersion: "v2", input: expect.anything() });
    });

    test("ListJobs and ListDeadJobs page with tokens; RetryJob re-queues a dead job once", async () => {
      const dead = [];
      for (let n = 0; n < 3; n++) dead.push(await factory.job(db, { type: "api-dead", state: "dead" }));
      const listed: bigint[] = [];
      let pageToken = "";
      do {
        const page = await client.listDeadJobs({ pageSize: 2, pageToken });
        listed.push(...page.jobs.map((j) => j.id));
        pageToken = page.nextPageToken;
      } while (pageToken !== "");
      expect(listed).toEqual(dead.map((j) => BigInt(j.id)).reverse());

      const byType = await client.listJobs({ type: "api-dead", state: JobState.DEAD, pageSize: 2 });
      const rest = await client.listJobs({ type: "api-dead", state: JobState.DEAD, pageToken: byType.nextPageToken });
      expect([...byType.jobs, ...rest.jobs].map((j) => j.id)).toEqual(listed);
      expect(rest.nextPageToken).toBe("");

      const retried = await client.retryJob({ id: listed[0] ?? 0n });
      expect(retried.job).toMatchObject({ state: JobState.PENDING, attempt: 0 });
      const again = await client.retryJob({ id: listed[0] ?? 0n }).catch((e: unknown) => ConnectError.from(e));
      expect(again).toMatchObject({ code: Code.FailedPrecondition });
    });

    test("SubmitJob with an idempotency key deduplicates; GetJob and CancelJob", async () => {
      const submit = () =>
        client.submitJob({ type: "api-nobody", payload: toValue({ a: 1 }), priority: 7, idempotencyKey: "once" });
      const first = await submit();
      const second = await submit();
      expect([first.deduplicated, second.deduplicated, second.job?.id]).toEqual([false, true, first.job?.id]);
      const got = await client.getJob({ id: first.job?.id ?? 0n });
      expect(got.job).toMatchObject({ type: "api-nobody", priority: 7, state: JobState.PENDING });
      expect(fromValue(got.job?.payload)).toEqual({ a: 1 });
      const cancelled = await client.cancelJob({ id: first.job?.id ?? 0n });
      expect(cancelled.job?.state).toBe(JobState.CANCELLED);
    });

    test("ListWorkflows marks the latest version; GetClusterInfo names this node as leader", async () => {
      const { workflows } = await client.listWorkflows({});
      expect(workflows.map((w) => [w.name, w.version, w.latest, w.steps.map((s) => [s.name, s.after])])).toEqual([
        [
          "gated",
          "v1",
          true,
          [
            ["wait", []],
            ["after", ["wait"]],
          ],
        ],
        ["pager", "v1", false, [["echo", []]]],
        ["pager", "v2", true, [["echo", []]]],
      ]);
      await waitFor("this node to lead", () => kronos.leader.isLeader);
      const info = await waitFor("a heartbeat", async () => {
        const answer = await client.getClusterInfo({});
        return answer.nodes.length > 0 ? answer : undefined;
      });
      expect(info.leaderId).toBe(kronos.nodeId);
      expect(info.nodes.find((n) => n.id === kronos.nodeId)).toMatchObject({ isLeader: true, pid: process.pid });
    });

    test("metrics count every call by method and code, refused ones included", async () => {
      const url = `${admin}/kronos.v1.KronosService/GetRun`;
      expect((await postJson(url, "{not json")).status).toBe(400);
      expect((await postJson(url, '{"runId":"nope"}')).status).toBe(400);
      await client.listWorkflows({});
      const text = await registry.render();
      expect(text).toContain(
        'kronos_rpc_requests_total{method="kronos.v1.KronosService/GetRun",code="invalid_argument"} 2',
      );
      expect(text).toMatch(
        /kronos_rpc_requests_total\{method="kronos.v1.KronosService\/ListWorkflows",code="ok"\} \d+/,
      );
      expect(text).toContain('kronos_rpc_duration_seconds_count{method="kronos.v1.KronosService/ListWorkflows"}');
    });

    test("health Watch follows the status on both ports", async () => {
      const other = await serve();
      try {
        const transports = [
          createGrpcTransport({ baseUrl: `http://127.0.0.1:${other.grpcPort}` }),
          createConnectTransport({ baseUrl: `http://127.0.0.1:${other.adminPort}` }),
        ];
        for (const transport of transports) {
          const hangUp = new AbortController();
          const watch = createClient(Health, transport).watch({}, { signal: hangUp.signal })[Symbol.asyncIterator]();
          expect((await watch.next()).value).toMatchObject({ status: Serving.SERVING });
          health.set("NOT_SERVING");
          expect((await watch.next()).value).toMatchObject({ status: Serving.NOT_SERVING });
          health.set("SERVING");
          expect((await watch.next()).value).toMatchObject({ status: Serving.SERVING });
          hangUp.abort();
        }
      } finally {
        health.set("SERVING");
        await other.close();
      }
    });

    test("closing the servers ends open streams on both ports", async () => {
      const other = await serve();
      const { run } = await client.startWorkflow({ workflowName: "gated", input: toValue({ label: "closing" }) });
      const viaAdmin = createKronosClient(`http://127.0.0.1:${other.adminPort}`);
      const viaGrpc = createClient(Health, createGrpcTransport({ baseUrl: `http://127.0.0.1:${other.grpcPort}` }));
      const events = viaAdmin.streamRunEvents({ runId: run?.id ?? "" })[Symbol.asyncIterator]();
      const watch = viaGrpc.watch({})[Symbol.asyncIterator]();
      expect((await events.next()).value?.event?.type).toBe(EventType.RUN_STARTED);
      expect((await watch.next()).value?.status).toBe(Serving.SERVING);
      const ended = (it: AsyncIterator<unknown>) =>
        (async () => {
          for (;;) if ((await it.next()).done) return "done";
        })().catch((e: unknown) => Code[ConnectError.from(e).code]);
      const results = Promise.all([ended(events), ended(watch)]);
      await other.close();
      expect(await results).toEqual(["done", "done"]);
      await client.cancelRun({ runId: run?.id ?? "" });
    });
  });
}
