import { readFileSync } from "node:fs";
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import http2, { type Http2ServerRequest, type Http2ServerResponse, type Http2Session } from "node:http2";
import net, { type Socket } from "node:net";
import type { Logger } from "../logger.js";

/** A request handler for both HTTP/1.1 and HTTP/2 (as returned by connectNodeAdapter). */
export type DualHandler = (
  req: IncomingMessage | Http2ServerRequest,
  res: ServerResponse | Http2ServerResponse,
) => void;

/** Options of {@link listen}. */
export interface ListenOptions {
  host: string;
  port: number;
  tls?: { certFile: string; keyFile: string } | undefined;
  handler: DualHandler;
  log: Logger;
  /** Closes connections that send nothing (or no complete headers) for this long. */
  headersTimeoutMs?: number;
  /** Closes idle keep-alive HTTP/1.1 connections after this long. */
  keepAliveTimeoutMs?: number;
}

/** A listening server. */
export interface Listener {
  /** The bound port (useful with port 0). */
  port: number;
  host: string;
  /** Stops accepting, lets in-flight requests finish for up to `graceMs`, then closes what is left. */
  close(graceMs: number): Promise<void>;
}

const h2Preface = Buffer.from("PRI * HTTP/2.0\r\n");

/**
 * Listens on one port for every protocol. Cleartext: each TCP connection's
 * first bytes decide — the HTTP/2 preface goes to an h2c server (gRPC,
 * Connect, gRPC-Web over HTTP/2 with prior knowledge), anything else to an
 * HTTP/1.1 server. With TLS, ALPN selects `h2` or `http/1.1`.
 */
export async function listen(opts: ListenOptions): Promise<Listener> {
  const headersTimeoutMs = opts.headersTimeoutMs ?? 15_000;
  const sockets = new Set<Socket>();
  const h2sessions = new Set<Http2Session>();
  const trackSession = (s: Http2Session) => {
    h2sessions.add(s);
    s.on("close", () => h2sessions.delete(s));
    s.on("error", () => {});
  };

  // Headers that trickle in (slow loris) are cut after headersTimeoutMs: node
  // only checks every connectionsCheckingInterval (30 s by default), so check often.
  const h1 = http.createServer(
    { headersTimeout: headersTimeoutMs, requestTimeout: 0, connectionsCheckingInterval: Math.min(1_000, headersTimeoutMs) },
    opts.handler as http.RequestListener,
  );
  h1.keepAliveTimeout = opts.keepAliveTimeoutMs ?? 5_000;
  // Sockets reach h1 by hand-off, not by its own listen(); "listening" starts
  // its connection tracking (headers/idle timeouts, closeIdleConnections).
  h1.emit("listening");
  h1.on("clientError", (err, socket) => {
    if (socket.writable) socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
    else socket.destroy(err);
  });

  let outer: net.Server;
  if (opts.tls) {
    const secure = http2.createSecureServer(
      {
        cert: readFileSync(opts.tls.certFile),
        key: readFileSync(opts.tls.keyFile),
        allowHTTP1: true,
        ALPNProtocols: ["h2", "http/1.1"],
      },
      opts.handler as (req: Http2ServerRequest, res: Http2ServerResponse) => void,
    );
    secure.on("session", trackSession);
    secure.on("secureConnection", (s: Socket) => {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
    });
    outer = secure;
  } else {
    const h2 = http2.createServer({}, opts.handler as (req: Http2ServerRequest, res: Http2ServerResponse) => void);
    h2.on("session", trackSession);
    outer = net.createServer({ pauseOnConnect: false }, (socket) => {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
      socket.on("error", () => {});
      socket.setTimeout(headersTimeoutMs, () => socket.destroy());
      let head = Buffer.alloc(0);
      const onData = (chunk: Buffer) => {
        head = Buffer.concat([head, chunk]);
        const n = Math.min(head.length, h2Preface.length);
        const isH2 = head.subarray(0, n).equals(h2Preface.subarray(0, n));
        if (isH2 && head.length < h2Preface.length) return; // need more bytes to decide
        socket.off("data", onData);
        socket.setTimeout(0);
        // Put the bytes back. http2 drains what is buffered itself on the
        // next tick (a resume() would lose it); http/1.1 needs the resume.
        socket.pause();
        socket.unshift(head);
        if (isH2) {
          h2.emit("connection", socket);
        } else {
          h1.emit("connection", socket);
          socket.resume();
        }
      };
      socket.on("data", onData);
    });
  }

  await new Promise<void>((resolve, reject) => {
    outer.once("error", reject);
    outer.listen(opts.port, opts.host, () => {
      outer.off("error", reject);
      resolve();
    });
  });
  const addr = outer.address() as net.AddressInfo;
  opts.log.info({ host: opts.host, port: addr.port, tls: Boolean(opts.tls) }, "listening");

  return {
    port: addr.port,
    host: opts.host,
    async close(graceMs) {
      const closed = new Promise<void>((r) => outer.close(() => r()));
      for (const s of h2sessions) s.close(); // GOAWAY; open streams may finish
      h1.closeIdleConnections();
      const deadline = Date.now() + graceMs;
      while (sockets.size > 0 && Date.now() < deadline) {
        h1.closeIdleConnections();
        await new Promise((r) => setTimeout(r, 50));
      }
      for (const s of h2sessions) s.destroy();
      for (const s of sockets) s.destroy();
      h1.close(() => {}); // stops h1's connection-tracking timer
      await closed;
    },
  };
}
