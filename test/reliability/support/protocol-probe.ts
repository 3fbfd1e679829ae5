import http2 from "node:http2";
import { type DescMethod, type DescMessage, fromJson, type JsonObject, toBinary } from "@bufbuild/protobuf";
import { h1Request } from "./http1.js";
import { h2Request } from "./raw-h2.js";

/** The contract word and HTTP status (gRPC: 200) of one call, or `ok`. */
export interface ProbeAnswer {
  protocol: "REST" | "Connect" | "gRPC";
  status: number;
  /** `ok`, or the error's code: the contract word (REST, gRPC) or the Connect code name. */
  word: string;
}

/** Calls `method` with `body` (JSON shape) over Connect JSON (HTTP/1.1, from `localAddress` when given); `word` is the Connect code or `ok`. */
export async function probeConnect(baseUrl: string, method: DescMethod, token: string, body: JsonObject, localAddress?: string): Promise<ProbeAnswer> {
  const r = await h1Request(baseUrl, "POST", `/${method.parent.typeName}/${method.name}`, { authorization: `Bearer ${token}`, "content-type": "application/json" }, JSON.stringify(body), undefined, localAddress);
  const json = safeJson(r.body.toString()) as { code?: string } | undefined;
  return { protocol: "Connect", status: r.status, word: r.status === 200 ? "ok" : (json?.code ?? `HTTP ${r.status}`) };
}

/** Calls `method` over gRPC (h2c) with the protobuf of `body`; `word` is the grpc-status name or `ok`. */
export async function probeGrpc(session: http2.ClientHttp2Session, method: DescMethod, token: string, body: JsonObject): Promise<ProbeAnswer> {
  const bytes = toBinary(method.input as DescMessage, fromJson(method.input as DescMessage, body));
  const framed = Buffer.alloc(5 + bytes.length);
  framed.writeUInt32BE(bytes.length, 1);
  framed.set(bytes, 5);
  const r = await h2Request(session, { ":path": `/${method.parent.typeName}/${method.name}`, "content-type": "application/grpc", te: "trailers", authorization: `Bearer ${token}` }, framed);
  const gs = String(r.trailers["grpc-status"] ?? r.headers["grpc-status"]);
  return { protocol: "gRPC", status: r.status, word: gs === "0" ? "ok" : (grpcNames[gs] ?? `grpc-status ${gs}`) };
}

/** Calls a REST route (from `localAddress` when given); `word` is `ok` or the error envelope's code. */
export async function probeRest(baseUrl: string, method: string, path: string, token: string, body: JsonObject | undefined, localAddress?: string): Promise<ProbeAnswer> {
  const r = await h1Request(baseUrl, method, path, { authorization: `Bearer ${token}`, ...(body ? { "content-type": "application/json" } : {}) }, body ? JSON.stringify(body) : undefined, undefined, localAddress);
  const json = safeJson(r.body.toString()) as { error?: { code?: string } } | undefined;
  return { protocol: "REST", status: r.status, word: r.status < 300 ? "ok" : (json?.error?.code ?? `HTTP ${r.status}`) };
}

const grpcNames: Record<string, string> = { "3": "validation_error", "5": "not_found", "7": "forbidden", "9": "conflict", "12": "unimplemented", "13": "internal", "14": "unavailable", "16": "unauthorized", "8": "rate_limited" };

function safeJson(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return undefined;
  }
}
