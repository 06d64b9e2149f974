export * as cron from "./cron.ts";
export * as jobs from "./jobs.ts";
export * as nodes from "./nodes.ts";
