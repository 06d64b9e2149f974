import { expect, test } from "bun:test";
import { isConnectionError } from "../../src/db/index.ts";

const withCode = (code: string) => Object.assign(new Error(code), { code });

test("connection loss is recognised from SQLSTATE, socket and driver codes; other errors are not", () => {
  const lost = ["08006", "57P01", "57P03", "ECONNREFUSED", "ECONNRESET", "ECONNABORTED", "EPIPE", "ETIMEDOUT"];
  const driver = ["CONNECTION_CLOSED", "CONNECTION_ENDED", "CONNECT_TIMEOUT", "CONNECTION_DESTROYED"];
  for (const code of [...lost, ...driver]) expect([code, isConnectionError(withCode(code))]).toEqual([code, true]);
  for (const code of ["23505", "57014", "XX000", "ENOENT"]) {
    expect([code, isConnectionError(withCode(code))]).toEqual([code, false]);
  }
  expect(isConnectionError(new Error("boom"))).toBe(false);
  expect(isConnectionError("EPIPE")).toBe(false);
});
