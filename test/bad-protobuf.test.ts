import http2 from "node:http2";
import { gzipSync } from "node:zlib";
import { Code, ConnectError } from "@connectrpc/connect";
import { endStreamFlag, endStreamFromJson, errorFromJsonBytes } from "@connectrpc/connect/protocol-connect";
import { findTrailerError } from "@connectrpc/connect/protocol-grpc";
import { trailerFlag, trailerParse } from "@connectrpc/connect/protocol-grpc-web";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { errorWord } from "../src/errors/api-error.js";
import { backends } from "./support/backends.js";
import { startTestGateway, type TestGateway } from "./support/test-gateway.js";

const getSession = "/wagateway.v1.SessionService/GetSession";
const watchEvents = "/wagateway.v1.SessionService/WatchEvents";

/** Protobuf bytes that do not decode as any message. */
const badBytes: [string, Buffer][] = [
  ["truncated varint", Buffer.from([0x08, 0xff, 0xff])],
  ["length beyond end", Buffer.from([0x0a, 0x64, 0x41, 0x42])],
  ["invalid UTF-8 in a string field", Buffer.from([0x0a, 0x02, 0xff, 0xfe])],
  ["end-group without start", Buffer.from([0x0c])],
];
/** A GetSession request for an absent session (well formed). */
const goodBytes = Buffer.concat([Buffer.from([0x0a, 26]), Buffer.from("01J9ZX8K2QHV0M3T6R7P4N5W8C")]);

function envelope(payload: Buffer, flags = 0): Buffer {
  const head = Buffer.alloc(5);
  head[0] = flags;
  head.writeUInt32BE(payload.length, 1);
  return Buffer.concat([head, payload]);
}

/** The envelopes of a gRPC-Web or Connect stream body. */
function envelopes(body: Buffer): { flags: number; data: Buffer }[] {
  const out: { flags: number; data: Buffer }[] = [];
  for (let o = 0; o + 5 <= body.length; ) {
    const len = body.readUInt32BE(o + 1);
    out.push({ flags: body[o]!, data: body.subarray(o + 5, o + 5 + len) });
    o += 5 + len;
  }
  return out;
}

function expectValidationError(err: ConnectError | undefined) {
  expect(err, "expected an error").toBeInstanceOf(ConnectError);
  expect(Code[err!.code]).toBe(Code[Code.InvalidArgument]);
  expect(errorWord(err)).toBe("validation_error");
}

for (const backend of backends) {
  describe(`malformed binary protobuf (${backend.name})`, () => {
    let gw: TestGateway;
    let auth: Record<string, string>;
    let h2: http2.ClientHttp2Session;
    beforeAll(async () => {
      gw = await startTestGateway(backend);
      auth = { authorization: `Bearer ${await gw.createKey(gw.newOrgId(), ["manage", "read"])}` };
      h2 = http2.connect(gw.url);
    });
    afterAll(async () => {
      h2?.close();
      await gw?.close();
    });

    /** Connect unary over HTTP/1.1: the error is the JSON body of a 400. */
    async function connectUnary(body: Buffer, headers: Record<string, string> = {}) {
      const res = await fetch(`${gw.url}${getSession}`, { method: "POST", headers: { ...auth, "content-type": "application/proto", "connect-protocol-version": "1", ...headers }, body });
      const bytes = new Uint8Array(await res.arrayBuffer());
      return { status: res.status, error: res.status === 200 ? undefined : errorFromJsonBytes(bytes, undefined, new ConnectError("no error body")) };
    }

    /** gRPC over HTTP/2 (prior knowledge): the error is in the trailers. */
    function grpc(path: string, body: Buffer, headers: Record<string, string> = {}) {
      return new Promise<{ status: number; error: ConnectError | undefined }>((resolve, reject) => {
        const stream = h2.request({ ":method": "POST", ":path": path, "content-type": "application/grpc", te: "trailers", ...auth, ...headers });
        let status = 0;
        let header = new Headers();
        stream.on("response", (h) => {
          status = Number(h[":status"]);
          header = toHeaders(h);
        });
        stream.on("trailers", (t) => {
          const trailer = toHeaders(t);
          resolve({ status, error: findTrailerError(trailer) ?? findTrailerError(header) });
        });
        stream.on("data", () => {});
        stream.on("end", () => resolve({ status, error: findTrailerError(header) }));
        stream.on("error", reject);
        stream.end(body);
      });
    }

    /** gRPC-Web over HTTP/1.1: the error is in the trailer frame (or trailers-only headers). */
    async function grpcWeb(body: Buffer) {
      const res = await fetch(`${gw.url}${getSession}`, { method: "POST", headers: { ...auth, "content-type": "application/grpc-web+proto", "x-grpc-web": "1" }, body });
      const frames = envelopes(Buffer.from(await res.arrayBuffer()));
      const trailer = frames.find((f) => (f.flags & trailerFlag) === trailerFlag);
      return { status: res.status, error: trailer ? findTrailerError(trailerParse(trailer.data)) : findTrailerError(res.headers) };
    }

    it.each(badBytes)("Connect (unary, HTTP/1.1): %s → 400 invalid_argument, reason validation_error", async (_what, bytes) => {
      const r = await connectUnary(bytes);
      expect(r.status).toBe(400);
      expectValidationError(r.error);
    });

    it.each(badBytes)("gRPC (HTTP/2): %s → invalid_argument, reason validation_error", async (_what, bytes) => {
      const r = await grpc(getSession, envelope(bytes));
      expect(r.status).toBe(200);
      expectValidationError(r.error);
    });

    it.each(badBytes)("gRPC-Web (HTTP/1.1): %s → invalid_argument, reason validation_error", async (_what, bytes) => {
      const r = await grpcWeb(envelope(bytes));
      expect(r.status).toBe(200);
      expectValidationError(r.error);
    });

    it("server streams too: WatchEvents over gRPC and Connect", async () => {
      expectValidationError((await grpc(watchEvents, envelope(badBytes[0]![1]))).error);
      const res = await fetch(`${gw.url}${watchEvents}`, {
        method: "POST",
        headers: { ...auth, "content-type": "application/connect+proto", "connect-protocol-version": "1" },
        body: envelope(badBytes[1]![1]),
      });
      const end = envelopes(Buffer.from(await res.arrayBuffer())).find((f) => (f.flags & endStreamFlag) === endStreamFlag);
      expectValidationError(end ? endStreamFromJson(end.data).error : undefined);
    });

    it("compressed bytes: bad protobuf inside gzip is a validation_error; the compressed flag without an encoding too (binary or JSON)", async () => {
      expectValidationError((await grpc(getSession, envelope(gzipSync(badBytes[0]![1]), 1), { "grpc-encoding": "gzip" })).error);
      expectValidationError((await grpc(getSession, envelope(goodBytes, 1))).error);
      expectValidationError((await grpc(getSession, envelope(Buffer.from("{}"), 1), { "content-type": "application/grpc+json" })).error);
      const unary = await connectUnary(gzipSync(badBytes[1]![1]), { "content-encoding": "gzip" });
      expect(unary.status).toBe(400);
      expectValidationError(unary.error);
    });

    it("well-formed bytes still reach the handler (split across DATA frames, compressed or not)", async () => {
      expect(errorWord((await connectUnary(goodBytes)).error)).toBe("not_found");
      expect(errorWord((await grpc(getSession, envelope(goodBytes))).error)).toBe("not_found");
      expect(errorWord((await grpc(getSession, envelope(gzipSync(goodBytes), 1), { "grpc-encoding": "gzip" })).error)).toBe("not_found");
      expect(errorWord((await grpcWeb(envelope(goodBytes))).error)).toBe("not_found");
      // One message written in three pieces.
      const r = await new Promise<ConnectError | undefined>((resolve) => {
        const stream = h2.request({ ":method": "POST", ":path": getSession, "content-type": "application/grpc", te: "trailers", ...auth });
        stream.on("trailers", (t) => resolve(findTrailerError(toHeaders(t))));
        stream.on("data", () => {});
        const whole = envelope(goodBytes);
        stream.write(whole.subarray(0, 3));
        setTimeout(() => stream.write(whole.subarray(3, 10)), 20);
        setTimeout(() => stream.end(whole.subarray(10)), 40);
      });
      expect(errorWord(r)).toBe("not_found");
    });
  });
}

function toHeaders(h: http2.IncomingHttpHeaders): Headers {
  const out = new Headers();
  for (const [k, v] of Object.entries(h)) {
    if (k.startsWith(":") || v === undefined) continue;
    out.set(k, Array.isArray(v) ? v.join(", ") : String(v));
  }
  return out;
}
