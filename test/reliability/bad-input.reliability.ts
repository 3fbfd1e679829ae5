import { afterAll, describe, expect, it } from "vitest";
import { SessionService } from "../../gen/wagateway/v1/session_service_pb.js";
import { backends } from "../support/backends.js";
import { clientFor, transportCases } from "../support/transports.js";
import { type ChildGateway, startChildGateway } from "./support/child-gateway.js";
import { buildCorpus, type Verdict } from "./support/corpus.js";
import { h2Frame, h2Preface, rawSend } from "./support/raw-h2.js";
import { n, summary } from "./support/summary.js";

const maxBody = 65_536;

/** Broken bytes on the wire: cut HTTP/2 frames, bad HPACK, HTTP/1.1 garbage. */
const wire: [string, Buffer][] = [
  ["preface only, then close", h2Preface],
  ["half a preface", Buffer.from("PRI * HTTP/2.0\r\n")],
  ["HEADERS frame cut short", Buffer.concat([h2Preface, h2Frame(1, 0x4, 1, Buffer.from([0x82, 0x86]), 64)])],
  ["HEADERS with invalid HPACK", Buffer.concat([h2Preface, h2Frame(1, 0x5, 1, Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]))])],
  ["DATA on stream 0", Buffer.concat([h2Preface, h2Frame(0, 0x1, 0, Buffer.from("x"))])],
  ["DATA on an idle stream", Buffer.concat([h2Preface, h2Frame(0, 0x1, 7, Buffer.from("abc"))])],
  ["frame larger than the max frame size", Buffer.concat([h2Preface, h2Frame(0, 0, 1, Buffer.alloc(10), 1 << 23)])],
  ["SETTINGS with a bad length", Buffer.concat([h2Preface, h2Frame(4, 0, 0, Buffer.from([0, 1, 0]))])],
  ["WINDOW_UPDATE of 0", Buffer.concat([h2Preface, h2Frame(8, 0, 0, Buffer.from([0, 0, 0, 0]))])],
  ["garbage after the preface", Buffer.concat([h2Preface, Buffer.from("\x00\xff".repeat(500), "latin1")])],
  ["HTTP/1.1 bad request line", Buffer.from("GET / HTTP/9.9\r\n\r\n")],
  ["HTTP/1.1 header without colon", Buffer.from("GET /api/v1/sessions HTTP/1.1\r\nHost: x\r\nbroken header\r\n\r\n")],
  ["HTTP/1.1 headers over the limit", Buffer.from(`GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(40_000)}\r\n\r\n`)],
  ["HTTP/1.1 bad chunked body", Buffer.from("POST /api/v1/sessions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\nzz\r\n{}\r\n0\r\n\r\n")],
  ["HTTP/1.1 content-length larger than the body", Buffer.from("POST /api/v1/sessions HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\nContent-Type: application/json\r\n\r\n{")],
  ["HTTP/1.1 both content-length and chunked", Buffer.from("POST /api/v1/sessions HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n{}")],
];

/**
 * A generated corpus of malformed requests for every RPC over Connect, gRPC
 * and gRPC-Web and every REST route, plus broken bytes on the wire: only 4xx
 * (or, for RPCs not implemented yet, 501/unimplemented), no hang, no crash,
 * no internal error logged. Undecodable protobuf bytes and a compressed flag
 * without an encoding are `validation_error` too (src/server/binary-input-guard.ts).
 */
describe("bad input", () => {
  let gw: ChildGateway;
  afterAll(() => gw?.close());

  it("answers every malformed request with a client error and stays up", { timeout: 300_000 }, async () => {
    gw = await startChildGateway(backends[0]!, { MAX_BODY_BYTES: String(maxBody), WA_WEBSOCKET_URL: "ws://127.0.0.1:9/ws" });
    const url = gw.proc.url;
    const openapi = (await (await fetch(`${url}/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
    const { cases, close } = buildCorpus(url, gw.keys.a, maxBody, openapi);
    const counts: Record<Verdict, number> = { "client-error": 0, accepted: 0, unimplemented: 0, "server-error": 0, hung: 0 };
    const byProtocol: Record<string, number> = {};
    const bad: string[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < cases.length) {
          const c = cases[next++]!;
          let r;
          try {
            r = await c.run();
          } catch (err) {
            r = { verdict: "server-error" as const, detail: String(err) };
          }
          counts[r.verdict]++;
          byProtocol[c.protocol] = (byProtocol[c.protocol] ?? 0) + 1;
          if (r.verdict === "server-error" || r.verdict === "hung") bad.push(`${c.protocol} ${c.what}: ${r.detail}`);
        }
      }),
    );
    close();
    for (const [, bytes] of wire) await rawSend(url, bytes);

    // Still up, and still serving every protocol.
    expect(gw.proc.child.exitCode).toBeNull();
    for (const tc of transportCases) await clientFor(SessionService, tc, url, gw.keys.a).listSessions({});
    const errorLines = gw.proc.stderr().split("\n").filter((l) => l.includes('"level":"error"'));
    summary(
      `bad input: ${n(cases.length)} malformed requests (${Object.entries(byProtocol).map(([k, v]) => `${k} ${n(v)}`).join(", ")}) + ${wire.length} broken wire sequences: ` +
        `${n(counts["client-error"])} 4xx, ${counts.accepted} accepted as valid, ${counts.unimplemented} not implemented yet, ${counts["server-error"]} 5xx, ${counts.hung} hung; process up, ${errorLines.length} error log lines`,
    );
    expect(bad).toEqual([]);
    expect(errorLines.map((l) => l.slice(0, 300))).toEqual([]);
  });
});
