import type { DescMethod, DescService } from "@bufbuild/protobuf";
import { ApiKeyService } from "../../../gen/wagateway/v1/api_key_service_pb.js";
import { SessionService } from "../../../gen/wagateway/v1/session_service_pb.js";
import { h1Request } from "./http1.js";
import { h2Connect, h2Request } from "./raw-h2.js";

/** How the gateway answered one malformed request. */
export type Verdict = "client-error" | "accepted" | "unimplemented" | "server-error" | "hung";

/** One generated malformed request. */
export interface CorpusCase {
  protocol: "REST" | "Connect" | "gRPC" | "gRPC-Web";
  what: string;
  run(): Promise<{ verdict: Verdict; detail: string }>;
}

/** A well-formed id of no existing session, and bad ids. */
const absentId = "01J9ZX8K2QHV0M3T6R7P4N5W8C";
const badIds = ["not-a-ulid", "01J9ZX8K2QHV0M3T6R7P4N5W8", "ILOU0000000000000000000000", "x".repeat(10_000), "%00", "%FF%FE", "..%2F..%2Fetc", "😀"];

/** JSON bodies that are wrong in some way. */
function badJson(maxBody: number): [string, string | Buffer][] {
  return [
    ["truncated JSON", '{"label":'],
    ["array", "[]"],
    ["string", '"x"'],
    ["number", "42"],
    ["null", "null"],
    ["unknown field", '{"nope":1}'],
    ["wrong type (string field gets number)", `{"session":5,"label":7,"name":7}`],
    ["wrong type (number field gets string)", '{"ratePerMin":"abc","ratePerHour":{}}'],
    ["wrong type (bool gets string)", '{"autoRead":"yes","start":"no"}'],
    ["out-of-range number", '{"ratePerMin":1e400,"ratePerHour":-5}'],
    ["invalid ULID", '{"session":"not-a-ulid"}'],
    ["overlong string", JSON.stringify({ session: "A".repeat(50_000), label: "x".repeat(50_000) })],
    ["control characters", JSON.stringify({ label: "a\u0000b\u001f", name: "\u0007" })],
    ["bad UTF-8", Buffer.from([0x7b, 0x22, 0x6c, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d])],
    ["deep nesting", `${"[".repeat(20_000)}${"]".repeat(20_000)}`],
    ["oversized body", JSON.stringify({ label: "x".repeat(maxBody + 10) })],
    ["duplicate keys / proto names", '{"label":"a","label":"b","auto_read":true,"autoRead":false}'],
  ];
}

/** Protobuf bytes that do not decode. */
const badProto: [string, Buffer][] = [
  ["random bytes", Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x00, 0xff, 0x13, 0x37])],
  ["truncated varint", Buffer.from([0x08, 0xff, 0xff])],
  ["length beyond end", Buffer.from([0x0a, 0x64, 0x41, 0x42])],
  ["wrong wire type", Buffer.from([0x0d, 0x01, 0x02, 0x03, 0x04])],
  ["invalid UTF-8 in a string field", Buffer.from([0x0a, 0x02, 0xff, 0xfe])],
  ["end-group without start", Buffer.from([0x0c])],
  ["field number 0", Buffer.from([0x02, 0x00])],
];

function frame(payload: Buffer, flags = 0, declared = payload.length): Buffer {
  const head = Buffer.alloc(5);
  head[0] = flags;
  head.writeUInt32BE(declared, 1);
  return Buffer.concat([head, payload]);
}

function grpcVerdict(status: number, grpcStatus: string | undefined): Verdict {
  if (status >= 500) return status === 501 ? "unimplemented" : "server-error";
  if (status >= 400) return "client-error";
  if (grpcStatus === undefined) return "server-error"; // a gRPC answer always carries a status
  if (grpcStatus === "0") return "accepted";
  if (grpcStatus === "12") return "unimplemented";
  return ["2", "13", "14", "15"].includes(grpcStatus) ? "server-error" : "client-error";
}

function httpVerdict(status: number, timedOut: boolean, streaming: boolean): Verdict {
  if (timedOut) return streaming ? "accepted" : "hung";
  if (status === 0) return "server-error"; // connection dropped without an answer
  if (status === 501) return "unimplemented";
  if (status >= 500) return "server-error";
  if (status >= 400) return "client-error";
  return "accepted";
}

/** The `grpc-status` of a gRPC-Web answer: a header (trailers-only) or the trailer frame at the end of the body. */
function grpcWebStatus(headers: Record<string, unknown>, body: Buffer): string | undefined {
  if (headers["grpc-status"] !== undefined) return String(headers["grpc-status"]);
  let o = 0;
  while (o + 5 <= body.length) {
    const len = body.readUInt32BE(o + 1);
    if (body[o]! & 0x80) return /grpc-status:\s*(\d+)/i.exec(body.subarray(o + 5, o + 5 + len).toString())?.[1];
    o += 5 + len;
  }
  return undefined;
}

/**
 * Builds the corpus for every RPC of the contract (Connect, gRPC, gRPC-Web)
 * and every REST route of `openapi` (the gateway's own /openapi.json).
 */
export function buildCorpus(baseUrl: string, key: string, maxBody: number, openapi: { paths: Record<string, Record<string, unknown>> }): { cases: CorpusCase[]; close(): void } {
  const cases: CorpusCase[] = [];
  const auth = { authorization: `Bearer ${key}` };
  const h2 = h2Connect(baseUrl);
  const methods: DescMethod[] = ([SessionService, ApiKeyService] as DescService[]).flatMap((s) => s.methods);

  for (const m of methods) {
    const path = `/${m.parent.typeName}/${m.name}`;
    const streaming = m.methodKind === "server_streaming";
    // Connect over HTTP/1.1.
    const connectJson = streaming ? "application/connect+json" : "application/json";
    const connectProto = streaming ? "application/connect+proto" : "application/proto";
    const wrap = (b: string | Buffer) => (streaming ? frame(Buffer.from(b)) : b);
    const connectCase = (what: string, headers: Record<string, string>, body: string | Buffer | undefined) =>
      cases.push({
        protocol: "Connect",
        what: `${m.name}: ${what}`,
        run: async () => {
          const r = await h1Request(baseUrl, "POST", path, { ...auth, "connect-protocol-version": "1", ...headers }, body, streaming ? 3_000 : 10_000);
          // A Connect stream reports errors in its end frame with HTTP 200.
          const endError = streaming && r.status === 200 ? /"code":"([a-z_]+)"/.exec(r.body.toString())?.[1] : undefined;
          if (endError) return { verdict: ["internal", "unknown", "unavailable", "data_loss"].includes(endError) ? "server-error" : endError === "unimplemented" ? "unimplemented" : "client-error", detail: endError };
          return { verdict: httpVerdict(r.status, r.timedOut, false), detail: `HTTP ${r.status}${r.timedOut ? " (timed out)" : ""}` };
        },
      });
    for (const [what, body] of badJson(maxBody)) {
      if (streaming && (what === "null" || what === "duplicate keys / proto names")) continue;
      connectCase(`JSON ${what}`, { "content-type": connectJson }, wrap(body));
    }
    for (const [what, body] of badProto) connectCase(`protobuf ${what}`, { "content-type": connectProto }, wrap(body));
    for (const ct of ["text/plain", "application/xml", "application/grpc", "multipart/form-data; boundary=x", ""]) {
      connectCase(`content-type "${ct}"`, ct ? { "content-type": ct } : {}, '{"session":"' + absentId + '"}');
    }
    if (streaming) {
      connectCase("envelope length beyond the body", { "content-type": connectJson }, frame(Buffer.from("{}"), 0, 100));
      connectCase("envelope cut in its prefix", { "content-type": connectJson }, Buffer.from([0, 0, 0]));
      connectCase("compressed flag without encoding", { "content-type": connectJson }, frame(Buffer.from("{}"), 1));
    }

    // gRPC over h2c.
    const grpcCase = (what: string, headers: Record<string, string>, body: Buffer | undefined) =>
      cases.push({
        protocol: "gRPC",
        what: `${m.name}: ${what}`,
        run: async () => {
          const r = await h2Request(h2, { ":path": path, te: "trailers", ...auth, ...headers }, body);
          const gs = r.trailers["grpc-status"] ?? r.headers["grpc-status"];
          return { verdict: grpcVerdict(r.status, gs === undefined ? undefined : String(gs)), detail: `HTTP ${r.status} grpc-status ${gs}` };
        },
      });
    for (const [what, body] of badProto) grpcCase(`protobuf ${what}`, { "content-type": "application/grpc" }, frame(body));
    grpcCase("frame length beyond the body (truncated message)", { "content-type": "application/grpc" }, frame(Buffer.from([0x0a, 0x01]), 0, 4096));
    grpcCase("frame cut in its prefix", { "content-type": "application/grpc" }, Buffer.from([0, 0]));
    grpcCase("compressed flag without grpc-encoding", { "content-type": "application/grpc" }, frame(Buffer.from([0x0a, 0x00]), 1));
    grpcCase("unknown grpc-encoding", { "content-type": "application/grpc", "grpc-encoding": "lz4" }, frame(Buffer.from([0x1f, 0x8b, 0x00]), 1));
    grpcCase("gzip flag with bytes that are not gzip", { "content-type": "application/grpc", "grpc-encoding": "gzip" }, frame(Buffer.from("not gzip"), 1));
    grpcCase("oversized message", { "content-type": "application/grpc" }, frame(Buffer.alloc(maxBody + 100, 0x41)));
    grpcCase("two messages for a unary call", { "content-type": "application/grpc" }, Buffer.concat([frame(Buffer.alloc(0)), frame(Buffer.alloc(0))]));
    grpcCase("JSON codec with bad JSON", { "content-type": "application/grpc+json" }, frame(Buffer.from('{"session":')));
    grpcCase("unknown codec", { "content-type": "application/grpc+xml" }, frame(Buffer.from("<x/>")));
    grpcCase("wrong content type", { "content-type": "text/plain" }, frame(Buffer.alloc(0)));
    grpcCase("bad grpc-timeout", { "content-type": "application/grpc", "grpc-timeout": "soon" }, frame(Buffer.alloc(0)));

    // gRPC-Web over HTTP/1.1.
    const webCase = (what: string, ct: string, body: Buffer) =>
      cases.push({
        protocol: "gRPC-Web",
        what: `${m.name}: ${what}`,
        run: async () => {
          const r = await h1Request(baseUrl, "POST", path, { ...auth, "content-type": ct, "x-grpc-web": "1" }, body);
          if (r.timedOut || r.status !== 200) return { verdict: httpVerdict(r.status, r.timedOut, false), detail: `HTTP ${r.status}` };
          const gs = grpcWebStatus(r.headers, r.body);
          return { verdict: grpcVerdict(r.status, gs), detail: `grpc-status ${gs}` };
        },
      });
    for (const [what, body] of badProto) webCase(`protobuf ${what}`, "application/grpc-web+proto", frame(body));
    webCase("frame length beyond the body", "application/grpc-web+proto", frame(Buffer.from([0x0a]), 0, 999));
    webCase("JSON codec with bad JSON", "application/grpc-web+json", frame(Buffer.from("{]")));
    webCase("oversized message", "application/grpc-web+proto", frame(Buffer.alloc(maxBody + 100, 0x41)));
  }

  // REST: every route of the OpenAPI document.
  for (const [template, ops] of Object.entries(openapi.paths)) {
    if (!template.startsWith("/api/")) continue;
    for (const method of Object.keys(ops).filter((k) => ["get", "post", "patch", "put", "delete"].includes(k))) {
      const M = method.toUpperCase();
      const streaming = template.endsWith("/events");
      const restCase = (what: string, path: string, headers: Record<string, string>, body: string | Buffer | undefined) =>
        cases.push({
          protocol: "REST",
          what: `${M} ${template}: ${what}`,
          run: async () => {
            const r = await h1Request(baseUrl, M, path, { ...auth, ...(streaming ? { accept: "application/x-ndjson" } : {}), ...headers }, body, streaming ? 3_000 : 10_000);
            return { verdict: httpVerdict(r.status, r.timedOut, streaming), detail: `HTTP ${r.status}${r.timedOut ? " (timed out)" : ""}` };
          },
        });
      const fill = (v: string) => template.replace(/\{[^}]+\}/g, v);
      const hasParam = template.includes("{");
      if (hasParam) for (const id of badIds) restCase(`path parameter ${JSON.stringify(id.slice(0, 20))}`, fill(encodeURI(id).replace(/%25/g, "%")), {}, undefined);
      const path = fill(absentId);
      restCase("unknown query parameter", `${path}?bogus=1`, {}, undefined);
      restCase("bad query values", `${path}?after=abc&sessionIds=%ZZ&types=1`, {}, undefined);
      if (M === "POST" || M === "PATCH" || M === "PUT") {
        for (const [what, body] of badJson(maxBody)) restCase(`body ${what}`, path, { "content-type": "application/json" }, body);
        restCase("content-type text/plain", path, { "content-type": "text/plain" }, "label=x");
        restCase("content-type application/xml", path, { "content-type": "application/xml" }, "<label/>");
      } else {
        restCase("a body on a bodiless method", path, { "content-type": "application/json" }, '{"nope":1}');
      }
    }
  }
  return { cases, close: () => h2.close() };
}
