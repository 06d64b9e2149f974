// Malformed and random requests for every RPC, from a seeded generator: broken JSON and protobuf,
// wrong types, unknown fields, huge strings, deep nesting, bad gRPC framing and headers, unknown
// methods. Each request says how it travels (Connect JSON/proto, gRPC, gRPC-web) and what kind of
// damage it carries, so answers can be tallied by kind.
import { create, type DescField, type DescMessage, type DescMethod, toBinary } from "@bufbuild/protobuf";
import { Health } from "../../../src/gen/grpc/health/v1/health_pb.ts";
import { ServerReflection } from "../../../src/gen/grpc/reflection/v1/reflection_pb.ts";
import { KronosService } from "../../../src/gen/kronos/v1/kronos_pb.ts";
import { seeded } from "../harness.ts";

export type Transport = "connect-json" | "connect-proto" | "connect-json-h2" | "grpc" | "grpc-web";

export interface FuzzRequest {
  transport: Transport;
  /** /package.Service/Method */
  path: string;
  streaming: boolean;
  headers: Record<string, string>;
  body: Uint8Array;
  /** What is wrong with it (for the tally). */
  kind: string;
}

/** Ids of real rows, so plausible requests reach the handlers' deeper paths. */
export interface Known {
  runIds: string[];
  jobIds: number[];
}

type Rng = () => number;

const METHODS: DescMethod[] = [...KronosService.methods, ...Health.methods];
const text = new TextEncoder();

const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)] as T;
const int = (rng: Rng, lo: number, hi: number) => lo + Math.floor(rng() * (hi - lo + 1));

function randomBytes(rng: Rng, n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(rng() * 256);
  return b;
}

function randomText(rng: Rng, n: number): string {
  const alphabet = "abcXYZ019-_./:@ \"'\\<>{}[]\u00e9\u4e2d\ud83d\ude00\u0000\n";
  let s = "";
  for (let i = 0; i < n; i++) s += alphabet[Math.floor(rng() * alphabet.length)];
  return s;
}

/** A JSON text nested `depth` levels deep (arrays or objects), built without recursion. */
function deepJson(rng: Rng, depth: number): string {
  const objects = rng() < 0.5;
  return objects ? `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}` : `${"[".repeat(depth)}1${"]".repeat(depth)}`;
}

/** A plausible JSON value for a field (may well be accepted). */
function plausible(rng: Rng, f: DescField, known: Known): unknown {
  const name = f.jsonName;
  if (f.fieldKind === "scalar") {
    if (f.scalar === 9) {
      if (/runId$/i.test(name)) return pick(rng, [...known.runIds, crypto.randomUUID(), "not-a-uuid", ""]);
      if (name === "workflowName") return pick(rng, ["data-pipeline", "nope", ""]);
      if (name === "fromStep") return pick(rng, ["enrich", "finish", "nope", ""]);
      if (name === "type") return pick(rng, ["fuzz-job", "", "x".repeat(201)]);
      if (name === "idempotencyKey") return rng() < 0.5 ? "" : `fuzz-${crypto.randomUUID()}`;
      if (name === "pageToken") return pick(rng, ["", "abc", Buffer.from('{"list":"runs"}').toString("base64url")]);
      return randomText(rng, int(rng, 0, 20));
    }
    if (f.scalar === 3) return pick(rng, [...known.jobIds.map(String), "0", "-1", "9007199254740993"]);
    if (f.scalar === 8) return rng() < 0.5;
    return pick(rng, [0, 1, 5, 10, 11, -1, 1000, 2147483647]);
  }
  if (f.fieldKind === "enum")
    return pick(
      rng,
      f.enum.values.map((v) => v.name),
    );
  if (f.fieldKind === "message" && f.message.typeName === "google.protobuf.Timestamp") {
    return pick(rng, ["2026-01-01T00:00:00Z", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z"]);
  }
  return { userId: `fuzz-${int(rng, 0, 999)}`, n: rng() };
}

/** A value of the wrong JSON type for a field, as JSON text (some are not even valid JSON). */
function wrongType(rng: Rng, f: DescField): string {
  const numberish = f.fieldKind === "scalar" && f.scalar !== 9 && f.scalar !== 8;
  const options = [
    "{}",
    "[]",
    "true",
    "null",
    '"\\ud800"',
    "1e999",
    "-0",
    "99999999999999999999999",
    "1.5",
    numberish ? '"abc"' : "123",
    f.fieldKind === "enum" ? '"NOT_A_STATE"' : '{"nested":{"deeper":[1,2,3]}}',
    f.fieldKind === "enum" ? "999" : '"\\u0000"',
    "NaN",
    "Infinity",
    '"2026-13-45T99:99:99Z"',
  ];
  return pick(rng, options);
}

function jsonBody(rng: Rng, input: DescMessage, known: Known): { kind: string; body: string } {
  const fields = input.fields;
  const entries = (value: (f: DescField) => string) =>
    `{${fields
      .filter(() => rng() < 0.8)
      .map((f) => `${JSON.stringify(f.jsonName)}:${value(f)}`)
      .join(",")}}`;
  const valid = () => entries((f) => JSON.stringify(plausible(rng, f, known)));
  const roll = rng();
  if (roll < 0.15) return { kind: "json-plausible", body: valid() };
  if (roll < 0.35) {
    const doc = valid();
    const cut = doc.slice(0, int(rng, 0, Math.max(0, doc.length - 1)));
    const mangled = pick(rng, [
      cut,
      `${doc}}`,
      doc.replace(/"/g, "'"),
      `${doc.slice(0, 1)}\u0000${doc.slice(1)}`,
      `${doc},`,
    ]);
    return { kind: "json-broken", body: mangled };
  }
  if (roll < 0.55 && fields.length > 0) {
    const f = pick(rng, fields);
    return { kind: "json-wrong-type", body: `{${JSON.stringify(f.jsonName)}:${wrongType(rng, f)}}` };
  }
  if (roll < 0.62) {
    return {
      kind: "json-unknown-field",
      body: `{${JSON.stringify(randomText(rng, int(rng, 1, 12)))}:${JSON.stringify(randomText(rng, 5))}}`,
    };
  }
  if (roll < 0.7) return { kind: "json-not-object", body: pick(rng, ["[]", "null", "42", '"x"', "", " ", "{}{}"]) };
  if (roll < 0.8) {
    const target = fields.find((f) => f.fieldKind === "message" && f.message.typeName === "google.protobuf.Value");
    const depth = pick(rng, [64, 1_000, 10_000, 100_000]);
    const f = target ?? fields[0];
    const name = f ? f.jsonName : "x";
    const extra = target ? ',"workflowName":"data-pipeline","type":"fuzz-job"' : "";
    return { kind: `json-deep-${depth}`, body: `{${JSON.stringify(name)}:${deepJson(rng, depth)}${extra}}` };
  }
  if (roll < 0.83) {
    // Huge: from 256 KiB to past the 4 MiB request limit.
    const size = pick(rng, [256 * 1024, 1024 * 1024, 3 * 1024 * 1024, 5 * 1024 * 1024]);
    const f = fields.length > 0 ? pick(rng, fields) : undefined;
    return {
      kind: `json-huge-${size >> 10}KiB`,
      body: `{${JSON.stringify(f?.jsonName ?? "x")}:"${"x".repeat(size)}"}`,
    };
  }
  if (roll < 0.9) return { kind: "json-random-text", body: randomText(rng, int(rng, 1, 200)) };
  return { kind: "json-invalid-utf8", body: "" };
}

/** A varint. */
function varint(n: number): number[] {
  const out: number[] = [];
  let v = n;
  while (v > 0x7f) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}

const varintLength = (n: number) => varint(n).length;

/**
 * A google.protobuf.Value of lists nested `depth` deep, encoded inside field `field`: lengths are
 * worked out from the inside out, then the bytes written from the outside in (linear time).
 */
export function deepValueProto(depth: number, field: number): Uint8Array {
  const listLen: number[] = [];
  const valueLen: number[] = [];
  let inner = 0;
  for (let i = 0; i < depth; i++) {
    listLen[i] = 1 + varintLength(inner) + inner; // ListValue.values = 1
    valueLen[i] = 1 + varintLength(listLen[i] as number) + (listLen[i] as number); // Value.list_value = 6
    inner = valueLen[i] as number;
  }
  const out = new Uint8Array(1 + varintLength(inner) + inner);
  let at = 0;
  const put = (bytes: number[]) => {
    out.set(bytes, at);
    at += bytes.length;
  };
  put([(field << 3) | 2, ...varint(inner)]);
  for (let i = depth - 1; i >= 0; i--) {
    put([0x32, ...varint(listLen[i] as number)]);
    put([0x0a, ...varint(i > 0 ? (valueLen[i - 1] as number) : 0)]);
  }
  return out;
}

function protoBody(rng: Rng, input: DescMessage, known: Known): { kind: string; body: Uint8Array } {
  const message = create(input);
  for (const f of input.fields) {
    if (rng() < 0.3 || f.fieldKind !== "scalar") continue;
    const v = plausible(rng, f, known);
    const m = message as Record<string, unknown>;
    if (f.scalar === 9 && typeof v === "string") m[f.localName] = v;
    else if (f.scalar === 3) m[f.localName] = BigInt(Math.trunc(Number(v)) || 0);
    else if (typeof v === "number") m[f.localName] = v;
  }
  const valid = toBinary(input, message);
  const roll = rng();
  if (roll < 0.15) return { kind: "proto-plausible", body: valid };
  if (roll < 0.35) return { kind: "proto-random-bytes", body: randomBytes(rng, int(rng, 1, 300)) };
  if (roll < 0.55) {
    const b = new Uint8Array([...valid, ...randomBytes(rng, int(rng, 0, 8))]);
    for (let i = 0; i < int(rng, 1, 4) && b.length > 0; i++) b[int(rng, 0, b.length - 1)] = int(rng, 0, 255);
    return { kind: "proto-mutated", body: b.slice(0, int(rng, 0, b.length)) };
  }
  if (roll < 0.65) {
    // Field 1 as a varint when it is a string, or as a length-delimited blob when it is a number.
    const f = input.fields[0];
    const wire = f && f.fieldKind === "scalar" && f.scalar === 9 ? [0x08, 0x96, 0x01] : [0x0a, 0x03, 0x61, 0x62, 0x63];
    return { kind: "proto-wrong-wire-type", body: new Uint8Array(wire) };
  }
  if (roll < 0.72) {
    // A length prefix far larger than what follows.
    return { kind: "proto-huge-length", body: new Uint8Array([0x0a, ...varint(2 ** 31 - 1), 0x61]) };
  }
  if (roll < 0.8) {
    const target = input.fields.find(
      (f) => f.fieldKind === "message" && f.message.typeName === "google.protobuf.Value",
    );
    const depth = pick(rng, [100, 10_000, 50_000]);
    const deep = deepValueProto(depth, target?.number ?? 2);
    return { kind: `proto-deep-${depth}`, body: new Uint8Array([...valid, ...deep]) };
  }
  if (roll < 0.85) return { kind: "proto-empty", body: new Uint8Array() };
  // Unknown field numbers with every wire type, and a group (deprecated) tag.
  return { kind: "proto-unknown-fields", body: new Uint8Array([0xf8, 0x07, 0x01, 0xfa, 0x07, 0x00, 0x0b, 0x0c]) };
}

/** The 5-byte gRPC frame around `message`, sometimes broken on purpose. */
function grpcFrame(rng: Rng, message: Uint8Array): { kind: string; body: Uint8Array; headers: Record<string, string> } {
  const frame = (flag: number, len: number, payload: Uint8Array) => {
    const b = new Uint8Array(5 + payload.length);
    b[0] = flag;
    new DataView(b.buffer).setUint32(1, len);
    b.set(payload, 5);
    return b;
  };
  const roll = rng();
  if (roll < 0.7) return { kind: "", body: frame(0, message.length, message), headers: {} };
  if (roll < 0.76) return { kind: "+frame-too-long", body: frame(0, message.length + 1000, message), headers: {} };
  if (roll < 0.82)
    return { kind: "+frame-short", body: frame(0, Math.max(0, message.length - 3), message), headers: {} };
  if (roll < 0.86)
    return { kind: "+compressed-flag-no-encoding", body: frame(1, message.length, message), headers: {} };
  if (roll < 0.9)
    return { kind: "+gzip-garbage", body: frame(1, message.length, message), headers: { "grpc-encoding": "gzip" } };
  if (roll < 0.93)
    return { kind: "+bogus-encoding", body: frame(1, message.length, message), headers: { "grpc-encoding": "zstd-x" } };
  if (roll < 0.96) {
    const one = frame(0, message.length, message);
    return { kind: "+two-frames", body: new Uint8Array([...one, ...one]), headers: {} };
  }
  return { kind: "+truncated-prefix", body: new Uint8Array([0, 0, 0]), headers: {} };
}

const UNKNOWN_PATHS = [
  "/kronos.v1.KronosService/DeleteEverything",
  "/kronos.v2.KronosService/GetRun",
  "/grpc.health.v1.Health/Nope",
  "/",
  "/kronos.v1.KronosService/",
  "/kronos.v1.KronosService/GetRun/extra",
];

/** One random bad (or occasionally fine) request. */
export function fuzzRequest(rng: Rng, known: Known): FuzzRequest {
  const transport: Transport = pick(rng, [
    "connect-json",
    "connect-json",
    "connect-json",
    "connect-proto",
    "connect-json-h2",
    "grpc",
    "grpc",
    "grpc",
    "grpc-web",
  ]);
  const unknown = rng() < 0.04;
  const reflection = !unknown && transport === "grpc" && rng() < 0.03;
  const method = reflection ? (ServerReflection.methods[0] as DescMethod) : pick(rng, METHODS);
  const path = unknown ? pick(rng, UNKNOWN_PATHS) : `/${method.parent.typeName}/${method.name}`;
  const streaming = !unknown && method.methodKind !== "unary";
  const json = transport === "connect-json" || transport === "connect-json-h2";
  const grpcJson = (transport === "grpc" || transport === "grpc-web") && rng() < 0.1;
  const made = json || grpcJson ? jsonBody(rng, method.input, known) : protoBody(rng, method.input, known);
  let body =
    made.body instanceof Uint8Array
      ? made.body
      : made.kind === "json-invalid-utf8"
        ? new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d])
        : text.encode(made.body);
  let kind = `${unknown ? "unknown-method:" : ""}${made.kind}`;
  const headers: Record<string, string> = {};
  if (transport === "grpc" || transport === "grpc-web") {
    const framed = grpcFrame(rng, body);
    body = framed.body;
    kind += framed.kind;
    Object.assign(headers, framed.headers);
    headers["content-type"] =
      transport === "grpc-web"
        ? grpcJson
          ? "application/grpc-web+json"
          : "application/grpc-web+proto"
        : grpcJson
          ? "application/grpc+json"
          : pick(rng, ["application/grpc", "application/grpc+proto", "application/grpc", "application/grpc+xml"]);
    if (transport === "grpc") {
      headers.te = "trailers";
      if (rng() < 0.05) {
        headers["grpc-timeout"] = pick(rng, ["abc", "99999999999H", "-1S", "1n"]);
        kind += "+bad-timeout";
      }
    }
    if (headers["content-type"] === "application/grpc+xml") kind += "+bad-content-type";
  } else if (streaming) {
    // Connect streams are enveloped like gRPC: 1 flag byte, 4 length bytes.
    const env = new Uint8Array(5 + body.length);
    new DataView(env.buffer).setUint32(1, body.length);
    env.set(body, 5);
    body = env;
    headers["content-type"] = json ? "application/connect+json" : "application/connect+proto";
  } else {
    headers["content-type"] = json ? "application/json" : "application/proto";
    if (rng() < 0.05) {
      headers["content-encoding"] = "gzip";
      kind += "+gzip-garbage";
    } else if (rng() < 0.04) {
      headers["content-type"] = pick(rng, ["text/plain", "application/xml", "application/json; charset=latin1"]);
      kind += "+bad-content-type";
    }
    if (rng() < 0.3) headers["connect-protocol-version"] = pick(rng, ["1", "1", "2", "x"]);
  }
  return { transport, path, streaming, headers, body, kind };
}

/** Request number `i` of the run seeded with `seed` (the same bytes every time, given `known`). */
export function fuzzRequestAt(seed: number, i: number, known: Known): FuzzRequest {
  return fuzzRequest(seeded(seed * 1_000_003 + i), known);
}
