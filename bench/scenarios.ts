import { CreateSessionRequestSchema, GetSessionRequestSchema, ListSessionsRequestSchema } from "../gen/wagateway/v1/session_service_pb.js";
import type { HttpRequestSpec } from "./load/autocannon-run.js";
import { grpcFrame, protoBytes } from "./load/grpc-frame.js";
import type { GrpcRequestSpec } from "./load/h2load-run.js";

/** The calls the bench measures. */
export type Rpc = "GetSession" | "ListSessions" | "CreateSession";
export const rpcs: readonly Rpc[] = ["GetSession", "ListSessions", "CreateSession"];

/** The HTTP/1.1 ways of calling the gateway (gRPC is separate: HTTP/2). */
export type HttpProtocol = "REST" | "Connect JSON" | "Connect binary";
export const httpProtocols: readonly HttpProtocol[] = ["REST", "Connect JSON", "Connect binary"];

/** Ids and keys a scenario needs: `readKey`'s org has the 50 sessions, `writeKey`'s org receives the creates. */
export interface Fixture {
  readKey: string;
  writeKey: string;
  sessionId: string;
}

const procedure = (rpc: Rpc) => `/wagateway.v1.SessionService/${rpc}`;

/** The REST request for `rpc` (the gateway's routes; the peers serve the same ones). */
export function restRequest(baseUrl: string, rpc: Rpc, f: Fixture): HttpRequestSpec {
  if (rpc === "GetSession") return { url: `${baseUrl}/api/v1/sessions/${f.sessionId}`, method: "GET", headers: { authorization: `Bearer ${f.readKey}` } };
  if (rpc === "ListSessions") return { url: `${baseUrl}/api/v1/sessions`, method: "GET", headers: { authorization: `Bearer ${f.readKey}` } };
  return { url: `${baseUrl}/api/v1/sessions`, method: "POST", headers: { authorization: `Bearer ${f.writeKey}`, "content-type": "application/json" }, body: '{"label":"bench"}' };
}

/** The request for `rpc` over one of the gateway's HTTP/1.1 protocols. */
export function httpRequest(baseUrl: string, protocol: HttpProtocol, rpc: Rpc, f: Fixture): HttpRequestSpec {
  if (protocol === "REST") return restRequest(baseUrl, rpc, f);
  const key = rpc === "CreateSession" ? f.writeKey : f.readKey;
  const headers = { authorization: `Bearer ${key}`, "connect-protocol-version": "1" };
  const url = `${baseUrl}${procedure(rpc)}`;
  if (protocol === "Connect JSON") {
    const body = rpc === "GetSession" ? { session: f.sessionId } : rpc === "CreateSession" ? { label: "bench" } : {};
    return { url, method: "POST", headers: { ...headers, "content-type": "application/json" }, body: JSON.stringify(body) };
  }
  return { url, method: "POST", headers: { ...headers, "content-type": "application/proto" }, body: protoBody(rpc, f, false) };
}

/** The gRPC request for `rpc` (length-prefixed protobuf). */
export function grpcRequest(baseUrl: string, rpc: Rpc, f: Fixture): GrpcRequestSpec {
  const key = rpc === "CreateSession" ? f.writeKey : f.readKey;
  return {
    url: `${baseUrl}${procedure(rpc)}`,
    headers: { "content-type": "application/grpc", te: "trailers", authorization: `Bearer ${key}` },
    body: protoBody(rpc, f, true),
  };
}

function protoBody(rpc: Rpc, f: Fixture, framed: boolean): Buffer {
  const enc = framed ? grpcFrame : protoBytes;
  if (rpc === "GetSession") return enc(GetSessionRequestSchema, { session: f.sessionId });
  if (rpc === "ListSessions") return enc(ListSessionsRequestSchema, {});
  return enc(CreateSessionRequestSchema, { label: "bench" });
}
