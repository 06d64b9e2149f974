// The small pure parts of the API: page tokens, field naming in messages, the token comparison.
import { describe, expect, test } from "bun:test";
import { bearerMatches } from "../../src/api/auth.ts";
import { namingField } from "../../src/api/errors.ts";
import { decodePageToken, encodePageToken } from "../../src/api/page-token.ts";
import { InvalidArgumentError } from "../../src/errors.ts";

describe("page tokens", () => {
  test("round-trip a cursor of their own list", () => {
    const cursor = { list: "runs", at: 1_700_000_000_123_456, id: "0b4a5f6e-1c2d-4e3f-8a9b-0c1d2e3f4a5b" } as const;
    expect(decodePageToken(encodePageToken(cursor), "runs")).toEqual(cursor);
    expect(decodePageToken("", "runs")).toBeUndefined();
  });

  test("refuse garbage, other lists' tokens and tampered cursors, naming pageToken", () => {
    const forged = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
    for (const token of [
      "not a token",
      "%%%",
      forged([1, 2]),
      forged({ list: "jobs", id: 5 }),
      forged({ list: "runs", at: 1, id: "x' OR 1=1 --" }),
      forged({ list: "runs", at: 1.5, id: "0b4a5f6e-1c2d-4e3f-8a9b-0c1d2e3f4a5b" }),
    ]) {
      let thrown: unknown;
      try {
        decodePageToken(token, "runs");
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(InvalidArgumentError);
      expect(thrown).toMatchObject({ field: "pageToken" });
    }
  });
});

test("namingField prefixes the field unless the message already names it", () => {
  expect(namingField("runId", "run 1 does not exist")).toBe("runId: run 1 does not exist");
  expect(namingField("runId", 'runId "x" is not a run id')).toBe('runId "x" is not a run id');
  expect(namingField("id", "job 5 is not dead")).toBe("id: job 5 is not dead");
  expect(namingField(undefined, "run is finished")).toBe("run is finished");
});

test("bearerMatches accepts only the exact token after Bearer", () => {
  const token = "test-token-0123456789abcdef";
  expect(bearerMatches(`Bearer ${token}`, token)).toBe(true);
  expect(bearerMatches(`bearer ${token}`, token)).toBe(true);
  for (const header of [undefined, null, "", token, `Bearer ${token}x`, `Bearer ${token.slice(1)}`, `Basic ${token}`]) {
    expect(bearerMatches(header, token)).toBe(false);
  }
});

test("the client bundles for browsers without Node built-ins", async () => {
  const built = await Bun.build({ entrypoints: [`${import.meta.dir}/../../src/client/index.ts`], target: "browser" });
  expect(built.success).toBe(true);
  const code = (await built.outputs[0]?.text()) ?? "";
  // Booleans, not the bundle: a failure should not print 250 kB of JavaScript.
  expect(code.includes("function createKronosClient")).toBe(true);
  expect(/from\s*["']node:|require\(["']node:/.test(code)).toBe(false);
});
