import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Client } from "@connectrpc/connect";
import { SessionService } from "../gen/wagateway/v1/session_service_pb.js";
import { backends } from "./support/backends.js";
import { tapEvents } from "./support/event-stream.js";
import { expectApiError } from "./support/expect-error.js";
import { envelopeOf, openRawStream, type RawStreamOptions } from "./support/raw-stream.js";
import { startTestGateway, type TestGateway } from "./support/test-gateway.js";
import { clientFor, transportCases } from "./support/transports.js";
import { waitUntil } from "./support/wait.js";
import { httpCall } from "./rest/http-call.js";
import { readStream, sseEvents } from "./rest/read-stream.js";

const watchPath = "/wagateway.v1.SessionService/WatchEvents";
const [grpc, connectH1, connectH1Binary, , grpcWebH1] = transportCases;

/** Every wire format an event stream has, each opened raw (live, no filter). */
const formats: (Omit<RawStreamOptions, "headers"> & { name: string; family?: "binary" | "json"; headers: Record<string, string> })[] = [
  { name: "REST SSE", http2: false, method: "GET", path: "/api/v1/events", headers: { accept: "text/event-stream" }, split: "sse" },
  { name: "REST NDJSON", http2: false, method: "GET", path: "/api/v1/events", headers: {}, split: "ndjson" },
  { name: "Connect binary (HTTP/1.1)", family: "binary", http2: false, method: "POST", path: watchPath, headers: { "content-type": "application/connect+proto", "connect-protocol-version": "1" }, body: envelopeOf(Buffer.alloc(0)), split: "envelope" },
  { name: "Connect JSON (HTTP/2)", family: "json", http2: true, method: "POST", path: watchPath, headers: { "content-type": "application/connect+json", "connect-protocol-version": "1" }, body: envelopeOf("{}"), split: "envelope" },
  { name: "gRPC (HTTP/2)", family: "binary", http2: true, method: "POST", path: watchPath, headers: { "content-type": "application/grpc", te: "trailers" }, body: envelopeOf(Buffer.alloc(0)), split: "envelope" },
  { name: "gRPC-Web binary (HTTP/1.1)", family: "binary", http2: false, method: "POST", path: watchPath, headers: { "content-type": "application/grpc-web+proto", "x-grpc-web": "1" }, body: envelopeOf(Buffer.alloc(0)), split: "envelope" },
  { name: "gRPC-Web JSON (HTTP/2)", family: "json", http2: true, method: "POST", path: watchPath, headers: { "content-type": "application/grpc-web+json", "x-grpc-web": "1" }, body: envelopeOf("{}"), split: "envelope" },
];

/** Reads WatchEvents from `after` until `n` events arrived; returns their ids. */
async function idsOver(client: Client<typeof SessionService>, after: string, n: number, timeoutMs?: number): Promise<string[]> {
  const ids: string[] = [];
  // Leaving the loop does not cancel the call in connect-es: abort it, so the server sees the client leave.
  const ac = new AbortController();
  try {
    for await (const res of client.watchEvents({ after }, { signal: ac.signal, ...(timeoutMs ? { timeoutMs } : {}) })) {
      if (res.payload.case === "event") ids.push(res.payload.value.id);
      if (ids.length >= n) break;
    }
  } finally {
    ac.abort();
  }
  return ids;
}

describe.each(backends)("event fan-out on $name", (backend) => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway(backend, { EVENTS_HEARTBEAT_MS: "300" });
  });
  afterAll(() => gw?.close());

  it("writes one event as the same bytes to every stream of a format (the data envelope shared by Connect, gRPC and gRPC-Web)", async () => {
    const org = gw.newOrgId();
    const key = await gw.createKey(org, ["manage", "read"]);
    const auth = { authorization: `Bearer ${key}` };
    const streams = formats.map((f) => [0, 1].map(() => openRawStream(gw.url, { ...f, headers: { ...f.headers, ...auth } })));
    try {
      // Headers are sent once a stream is registered with the hub: every stream sees the next event.
      for (const pair of streams) for (const s of pair) expect((await s.response).status).toBe(200);
      const created = await httpCall(gw.url, "POST", "/api/v1/sessions", { headers: { ...auth, "content-type": "application/json" }, body: '{"label":"shared bytes"}' });
      const id = Buffer.from(created.json.id as string);
      const frames = await Promise.all(streams.map((pair) => Promise.all(pair.map((s) => s.waitFor((f) => f.includes(id))))));
      const byFamily = new Map<string, Buffer>();
      formats.forEach((f, i) => {
        const [a, b] = frames[i]!;
        expect(a!.equals(b!), `${f.name}: both streams got the same bytes`).toBe(true);
        if (f.family) {
          const seen = byFamily.get(f.family);
          if (seen) expect(a!.equals(seen), `${f.name}: the same data envelope as the other ${f.family} streams`).toBe(true);
          else byFamily.set(f.family, a!);
        }
      });
      expect(frames[0]![0]!.toString()).toMatch(/^id: \d+\ndata: \{.*"type":"session.created".*\}\n\n$/s);
      expect(JSON.parse(frames[1]![0]!.toString()).result.sessionId).toBe(created.json.id);
    } finally {
      for (const pair of streams) for (const s of pair) s.close();
    }
  });

  it("delivers the same events in the same order over every protocol, REST and the protocol path (a deadline) included", async () => {
    const org = gw.newOrgId();
    const key = await gw.createKey(org, ["manage", "read"]);
    const auth = { authorization: `Bearer ${key}` };
    const manage = clientFor(SessionService, grpc!, gw.url, key);
    for (let i = 0; i < 5; i++) await manage.createSession({ label: `p${i}` });
    const expected = await idsOver(manage, "0", 5);
    expect(expected).toHaveLength(5);
    for (const tc of transportCases) {
      expect(await idsOver(clientFor(SessionService, tc, gw.url, key), "0", 5), tc.name).toEqual(expected);
      // With a deadline, connect-es serves the call itself (same stream, one message at a time).
      expect(await idsOver(clientFor(SessionService, tc, gw.url, key), "0", 5, 30_000), `${tc.name} with a deadline`).toEqual(expected);
    }
    const sse = await readStream(gw.url, "/api/v1/events?after=0", { ...auth, accept: "text/event-stream" }, (t) => sseEvents(t.slice(0, t.lastIndexOf("\n\n") + 2)).length >= 5);
    expect(sseEvents(sse.text).map((e) => e.id)).toEqual(expected);
    const ndjson = await readStream(gw.url, "/api/v1/events?after=0", auth, (t) => t.split("\n").filter((l) => l).length >= 5);
    expect(ndjson.text.split("\n").filter((l) => l).map((l) => JSON.parse(l).result.id)).toEqual(expected);
  });

  it("unregisters a stream from the hub when its client leaves, over every protocol", async () => {
    const org = gw.newOrgId();
    const key = await gw.createKey(org, ["read"]);
    // The streams of the tests above (raw ones included) have all left by now.
    await waitUntil("earlier streams to leave the hub", () => (gw.events.hub.size() === 0 ? true : undefined), 5_000);
    const before = 0;
    for (const tc of transportCases) {
      const tap = tapEvents(clientFor(SessionService, tc, gw.url, key));
      await tap.ready;
      expect(gw.events.hub.size(), tc.name).toBe(before + 1);
      await tap.stop();
      await waitUntil(`${tc.name}: the stream to leave the hub`, () => (gw.events.hub.size() === before ? true : undefined), 5_000);
    }
    await readStream(gw.url, "/api/v1/events", { authorization: `Bearer ${key}`, accept: "text/event-stream" }, (t) => t.includes(": stream open"));
    await waitUntil("the SSE stream to leave the hub", () => (gw.events.hub.size() === before ? true : undefined), 5_000);
  });
});

describe.each(backends)("event stream caps on $name", (backend) => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway(backend, { EVENTS_MAX_STREAMS_PER_CREDENTIAL: "2", EVENTS_MAX_STREAMS_PER_ORG: "3" });
  });
  afterAll(() => gw?.close());

  const refused = async (client: Client<typeof SessionService>, timeoutMs?: number) => {
    const err = await expectApiError(
      (async () => {
        for await (const _ of client.watchEvents({}, timeoutMs ? { timeoutMs } : {})) break;
      })(),
      "rate_limited",
    );
    return err.rawMessage;
  };

  it("refuses the stream past a cap over every protocol, leaves the others running, and frees the slot when one closes", async () => {
    const org = gw.newOrgId();
    const keyA = await gw.createKey(org, ["manage", "read"]);
    const keyB = await gw.createKey(org, ["read"]);
    const a1 = tapEvents(clientFor(SessionService, grpc!, gw.url, keyA));
    const a2 = tapEvents(clientFor(SessionService, connectH1!, gw.url, keyA));
    await Promise.all([a1.ready, a2.ready]);

    // Per credential: key A has its 2.
    for (const tc of transportCases) expect(await refused(clientFor(SessionService, tc, gw.url, keyA)), tc.name).toContain("EVENTS_MAX_STREAMS_PER_CREDENTIAL");
    expect(await refused(clientFor(SessionService, connectH1Binary!, gw.url, keyA), 30_000)).toContain("EVENTS_MAX_STREAMS_PER_CREDENTIAL");
    const rest = await httpCall(gw.url, "GET", "/api/v1/events", { headers: { authorization: `Bearer ${keyA}`, accept: "text/event-stream" } });
    expect(rest.status).toBe(429);
    expect(rest.json.error.code).toBe("rate_limited");
    expect(rest.json.error.message).toContain("EVENTS_MAX_STREAMS_PER_CREDENTIAL");

    // Per organization: key B may open one more, then the organization has its 3.
    const b1 = tapEvents(clientFor(SessionService, grpcWebH1!, gw.url, keyB));
    await b1.ready;
    expect(await refused(clientFor(SessionService, grpc!, gw.url, keyB))).toContain("EVENTS_MAX_STREAMS_PER_ORG");
    const restB = await httpCall(gw.url, "GET", "/api/v1/events", { headers: { authorization: `Bearer ${keyB}` } });
    expect(restB.status).toBe(429);
    expect(restB.json.error.message).toContain("EVENTS_MAX_STREAMS_PER_ORG");

    // Another organization is not affected.
    const other = gw.newOrgId();
    const c1 = tapEvents(clientFor(SessionService, grpc!, gw.url, await gw.createKey(other, ["read"])));
    await c1.ready;

    // The streams within the caps keep running.
    const { session } = await clientFor(SessionService, grpc!, gw.url, keyA).createSession({ label: "still flowing" });
    for (const tap of [a1, a2, b1]) expect((await tap.waitFor(1))[0]!.sessionId).toBe(session!.id);
    expect(a1.error ?? a2.error ?? b1.error).toBeUndefined();

    // A closed stream frees its slot (for its credential and its organization).
    await a1.stop();
    const a3 = await waitUntil("key A's slot to be freed", async () => {
      const tap = tapEvents(clientFor(SessionService, connectH1Binary!, gw.url, keyA));
      await tap.ready;
      if (tap.error === undefined) return tap;
      await tap.stop();
      return undefined;
    });
    expect(await refused(clientFor(SessionService, grpc!, gw.url, keyB))).toContain("EVENTS_MAX_STREAMS_PER_ORG");
    await Promise.all([a2.stop(), b1.stop()]);
    const b2 = await waitUntil("key B's slot to be freed", async () => {
      const tap = tapEvents(clientFor(SessionService, grpc!, gw.url, keyB));
      await tap.ready;
      if (tap.error === undefined) return tap;
      await tap.stop();
      return undefined;
    });
    await Promise.all([a3.stop(), b2.stop(), c1.stop()]);
  });
});
