/** The app's start: styles, the run's answers (early or not), then the first render. */
import "./styles.css";
import { fromBinary } from "@bufbuild/protobuf";
import { html } from "htm/preact";
import { render } from "preact";
import { GetRunEventsResponseSchema, GetRunResponseSchema } from "../src/gen/kronos/v1/kronos_pb.ts";
import { kronos } from "./api.ts";
import { App } from "./app.ts";
import { deepLinkedRun, earlyAnswer } from "./early.ts";
import { prefetch, whenSettled } from "./prefetch.ts";

const runId = deepLinkedRun();
if (runId) {
  prefetch(`run:${runId}`, async () => {
    const bytes = await earlyAnswer(`run:${runId}`);
    return bytes ? fromBinary(GetRunResponseSchema, bytes) : kronos.getRun({ runId });
  });
  prefetch(`events:${runId}`, async () => {
    const bytes = await earlyAnswer(`events:${runId}`);
    return bytes ? fromBinary(GetRunEventsResponseSchema, bytes) : kronos.getRunEvents({ runId });
  });
  // Usually both answers are in within tens of ms; never hold the page back for long.
  await whenSettled([`run:${runId}`, `events:${runId}`], 400);
}
const root = document.getElementById("app");
if (root) {
  root.textContent = "";
  render(html`<${App} />`, root);
}
