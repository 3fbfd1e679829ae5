import http2 from "node:http2";
import { gunzipSync } from "node:zlib";
import { fromBinary } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ListSessionsResponseSchema } from "../gen/wagateway/v1/session_service_pb.js";
import { backends } from "./support/backends.js";
import { startTestGateway, type TestGateway } from "./support/test-gateway.js";

const listSessions = "/wagateway.v1.SessionService/ListSessions";
const getSession = "/wagateway.v1.SessionService/GetSession";

/**
 * The Connect and gRPC unary fast paths (src/server/*-unary-fast-path.ts)
 * answer as connect-es's protocol handlers do: compression both ways,
 * errors with details, and the slow path still there for what they skip.
 */
for (const backend of backends) {
  describe(`unary fast paths (${backend.name})`, () => {
    let gw: TestGateway;
    let auth: Record<string, string>;
    beforeAll(async () => {
      gw = await startTestGateway(backend);
      auth = { authorization: `Bearer ${await gw.createKey(gw.newOrgId(), ["manage", "read"])}` };
      for (let i = 0; i < 30; i++) {
        const res = await fetch(`${gw.url}/api/v1/sessions`, { method: "POST", headers: { ...auth, "content-type": "application/json" }, body: `{"label":"fast path ${i}"}` });
        expect(res.status).toBe(201);
      }
    });
    afterAll(async () => gw?.close());

    it("Connect: a large answer is gzipped when accepted; errors carry code and details; timeouts take connect-es's path", async () => {
      const res = await fetch(`${gw.url}${listSessions}`, { method: "POST", headers: { ...auth, "content-type": "application/json", "accept-encoding": "gzip" }, body: "{}" });
      expect([res.status, res.headers.get("content-type")]).toEqual([200, "application/json"]);
      // fetch undoes the Content-Encoding itself.
      expect(((await res.json()) as { sessions: unknown[] }).sessions).toHaveLength(30);

      const missing = await fetch(`${gw.url}${getSession}`, { method: "POST", headers: { ...auth, "content-type": "application/json" }, body: '{"session":"01J9ZX8K2QHV0M3T6R7P4N5W8C"}' });
      expect(missing.status).toBe(404);
      const err = (await missing.json()) as { code: string; details?: { type: string }[] };
      expect(err.code).toBe("not_found");
      expect(err.details?.map((d) => d.type)).toContain("google.rpc.ErrorInfo");

      const timed = await fetch(`${gw.url}${listSessions}`, { method: "POST", headers: { ...auth, "content-type": "application/json", "connect-timeout-ms": "5000" }, body: "{}" });
      expect(timed.status).toBe(200);
    });

    it("gRPC: a large answer is a compressed envelope when accepted, with grpc-status 0 in the trailers", async () => {
      const h2 = http2.connect(gw.url);
      try {
        const answer = await new Promise<{ headers: http2.IncomingHttpHeaders; trailers: http2.IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
          const stream = h2.request({ ":method": "POST", ":path": listSessions, "content-type": "application/grpc", te: "trailers", "grpc-accept-encoding": "gzip", ...auth });
          let headers: http2.IncomingHttpHeaders = {};
          let trailers: http2.IncomingHttpHeaders = {};
          const chunks: Buffer[] = [];
          stream.on("response", (h) => (headers = h));
          stream.on("trailers", (t) => (trailers = t));
          stream.on("data", (d: Buffer) => chunks.push(d));
          stream.on("end", () => resolve({ headers, trailers, body: Buffer.concat(chunks) }));
          stream.on("error", reject);
          stream.end(Buffer.alloc(5));
        });
        expect([answer.headers["content-type"], answer.headers["grpc-encoding"], answer.trailers["grpc-status"]]).toEqual(["application/grpc+proto", "gzip", "0"]);
        expect(answer.body[0]).toBe(1);
        const message = fromBinary(ListSessionsResponseSchema, gunzipSync(answer.body.subarray(5, 5 + answer.body.readUInt32BE(1))));
        expect(message.sessions).toHaveLength(30);
      } finally {
        h2.close();
      }
    });
  });
}
