import http from "node:http";
import http2 from "node:http2";
import { create, toBinary } from "@bufbuild/protobuf";
import { WatchEventsResponseSchema } from "../../gen/wagateway/v1/session_service_pb.js";

/**
 * The floor of `npm run bench:events`: a bare node server holding the same
 * kinds of connections as the gateway (SSE and Connect streaming over
 * HTTP/1.1, gRPC over h2c) and writing one pre-formatted frame per event to
 * each; `POST /append {"label"}` stands for the gateway's create-session
 * call (the frame carries the same fields the gateway's event does). Prints
 * `{"h1","h2"}` (base URLs) on stdout.
 */
const sse = new Set<http.ServerResponse>();
const connect = new Set<http.ServerResponse>();
const grpc = new Set<http2.ServerHttp2Stream>();
let id = 0;

function envelope(data: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(5 + data.byteLength);
  out[0] = 0;
  out.writeUInt32BE(data.byteLength, 1);
  out.set(data, 5);
  return out;
}

const h1 = http.createServer((req, res) => {
  if (req.method === "GET" && req.url === "/sse") {
    res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache" });
    res.write(": stream open\n\n");
    sse.add(res);
    res.on("close", () => sse.delete(res));
    return;
  }
  if (req.method === "POST" && req.url === "/connect") {
    req.resume();
    res.writeHead(200, { "content-type": "application/connect+proto" });
    res.write(envelope(new Uint8Array(0)));
    connect.add(res);
    res.on("close", () => connect.delete(res));
    return;
  }
  if (req.method === "POST" && req.url === "/append") {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const { label } = JSON.parse(Buffer.concat(chunks).toString()) as { label: string };
      const n = String(++id);
      const session = { id: "01ARZ3NDEKTSV4RRFFQ69G5FAV", label, status: "stopped" };
      const json = JSON.stringify({ id: n, type: "session.created", sessionId: session.id, organizationId: "org_bench", occurredAt: Date.now(), data: { session } });
      const sseFrame = Buffer.from(`id: ${n}\ndata: ${json}\n\n`);
      const msg = create(WatchEventsResponseSchema, {
        payload: { case: "event", value: { id: n, type: "session.created", sessionId: session.id, organizationId: "org_bench", occurredAt: BigInt(Date.now()), data: { session } } },
      });
      const binFrame = envelope(toBinary(WatchEventsResponseSchema, msg));
      for (const r of sse) r.write(sseFrame);
      for (const r of connect) r.write(binFrame);
      for (const s of grpc) s.write(binFrame);
      res.writeHead(201, { "content-type": "application/json" }).end(`{"id":"${n}"}`);
    });
    return;
  }
  res.writeHead(404).end();
});
h1.keepAliveTimeout = 60_000;

const h2 = http2.createServer();
h2.on("stream", (stream) => {
  stream.resume();
  stream.respond({ ":status": 200, "content-type": "application/grpc+proto" });
  grpc.add(stream);
  stream.on("close", () => grpc.delete(stream));
  stream.on("error", () => {});
});

await new Promise<void>((r) => h1.listen(0, "127.0.0.1", r));
await new Promise<void>((r) => h2.listen(0, "127.0.0.1", r));
const port = (s: http.Server | http2.Http2Server) => (s.address() as { port: number }).port;
process.stdout.write(`${JSON.stringify({ h1: `http://127.0.0.1:${port(h1)}`, h2: `http://127.0.0.1:${port(h2)}` })}\n`);
