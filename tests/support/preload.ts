// Loaded before every test file (bunfig.toml): stops the harness's throwaway PostgreSQL once all
// tests have run, since bun test does not run process exit handlers.
import { afterAll } from "bun:test";
import { stopTestServer } from "./postgres.ts";

afterAll(() => stopTestServer());
