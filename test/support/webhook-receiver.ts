import http from "node:http";
import type { AddressInfo, Socket } from "node:net";

/** One POST the receiver got. */
export interface ReceivedWebhook {
  id: string;
  timestamp: string;
  signature: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** The status it was answered with (undefined: connection dropped or left hanging). */
  status: number | undefined;
}

/** What the receiver does with a request. */
export type ReceiverMode = { status: number; headers?: Record<string, string>; delayMs?: number } | "hang";

/** A real HTTP receiver on loopback, whose behaviour a test switches. */
export interface WebhookReceiver {
  url: string;
  port: number;
  /** Every request so far, in arrival order. */
  received: ReceivedWebhook[];
  /** Only the ones answered 2xx. */
  accepted(): ReceivedWebhook[];
  setMode(mode: ReceiverMode | ((r: ReceivedWebhook) => ReceiverMode)): void;
  /** Stops listening (connections are refused) until {@link up}. */
  down(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}

/** Starts a receiver answering 204 until told otherwise. */
export async function startWebhookReceiver(path = "/hook"): Promise<WebhookReceiver> {
  const received: ReceivedWebhook[] = [];
  let mode: ReceiverMode | ((r: ReceivedWebhook) => ReceiverMode) = { status: 204 };
  const sockets = new Set<Socket>();
  const server = http.createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (c: string) => (body += c));
    req.on("end", () => {
      const r: ReceivedWebhook = {
        id: String(req.headers["webhook-id"] ?? ""),
        timestamp: String(req.headers["webhook-timestamp"] ?? ""),
        signature: String(req.headers["webhook-signature"] ?? ""),
        headers: req.headers,
        body,
        status: undefined,
      };
      received.push(r);
      const m = typeof mode === "function" ? mode(r) : mode;
      if (m === "hang") return;
      r.status = m.status;
      const answer = () => {
        res.writeHead(m.status, m.headers ?? {});
        res.end();
      };
      if (m.delayMs) setTimeout(answer, m.delayMs);
      else answer();
    });
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  const close = () =>
    new Promise<void>((r) => {
      for (const s of sockets) s.destroy();
      server.close(() => r());
    });
  return {
    url: `http://127.0.0.1:${port}${path}`,
    port,
    received,
    accepted: () => received.filter((r) => r.status !== undefined && r.status >= 200 && r.status < 300),
    setMode(m) {
      mode = m;
    },
    down: close,
    up: () => new Promise<void>((r) => server.listen(port, "127.0.0.1", r)),
    close,
  };
}
