export * as blobs from "./blobs.ts";
export * as cron from "./cron.ts";
export * as definitions from "./definitions.ts";
export * as events from "./events.ts";
export * as jobs from "./jobs.ts";
export * as nodes from "./nodes.ts";
export * as runs from "./runs.ts";
export * as steps from "./steps.ts";
