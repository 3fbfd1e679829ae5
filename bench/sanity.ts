import { deepStrictEqual } from "node:assert/strict";
import type { HttpRequestSpec } from "./load/autocannon-run.js";
import { grpcOnce } from "./load/grpc-check.js";
import { type Fixture, grpcRequest, httpProtocols, httpRequest, restRequest, type Rpc } from "./scenarios.js";

async function call(spec: HttpRequestSpec): Promise<{ status: number; body: string }> {
  const res = await fetch(spec.url, { method: spec.method, headers: spec.headers, ...(spec.body !== undefined && { body: spec.body }) });
  return { status: res.status, body: await res.text() };
}

/**
 * Before measuring: every request the bench repeats succeeds once, and the
 * peers' reads return exactly the gateway's REST JSON (so all serve the same
 * bytes' worth of work). Throws on any difference.
 */
export async function checkSameAnswers(gatewayUrl: string, peerUrls: string[], f: Fixture): Promise<void> {
  for (const rpc of ["GetSession", "ListSessions"] as Rpc[]) {
    const ours = await call(restRequest(gatewayUrl, rpc, f));
    if (ours.status !== 200) throw new Error(`gateway REST ${rpc}: ${ours.status} ${ours.body}`);
    for (const peer of peerUrls) {
      const theirs = await call(restRequest(peer, rpc, f));
      if (theirs.status !== 200) throw new Error(`${peer} ${rpc}: ${theirs.status} ${theirs.body}`);
      deepStrictEqual(JSON.parse(theirs.body), JSON.parse(ours.body), `${peer} ${rpc} differs from the gateway's REST JSON`);
    }
  }
  for (const peer of peerUrls) {
    const created = await call(restRequest(peer, "CreateSession", f));
    if (created.status !== 201) throw new Error(`${peer} CreateSession: ${created.status} ${created.body}`);
  }
  await checkGateway(gatewayUrl, f, true);
}

/** Every gateway request (HTTP/1.1 protocols, and gRPC when `grpc`) answers OK once. */
export async function checkGateway(gatewayUrl: string, f: Fixture, grpc: boolean): Promise<void> {
  for (const rpc of ["GetSession", "ListSessions", "CreateSession"] as Rpc[]) {
    for (const p of httpProtocols) {
      const r = await call(httpRequest(gatewayUrl, p, rpc, f));
      if (r.status !== 200 && r.status !== 201) throw new Error(`gateway ${p} ${rpc}: ${r.status} ${r.body}`);
    }
    if (grpc) {
      const g = await grpcOnce(grpcRequest(gatewayUrl, rpc, f));
      if (g.grpcStatus !== "0") throw new Error(`gateway gRPC ${rpc}: grpc-status ${g.grpcStatus} ${g.message}`);
    }
  }
}
