import type { Interceptor, Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { bearerInterceptor } from "./bearer-interceptor.js";
import type { Protocol } from "./protocol.js";

/** Options of {@link createGatewayTransport}. */
export interface GatewayTransportOptions {
  /** The gateway's base URL, e.g. `http://127.0.0.1:8080`. */
  baseUrl: string;
  /** API key (`wag_…`) or login JWT; omitted: calls are unauthenticated. */
  token?: string | undefined;
  /** Wire protocol. Default `connect`. */
  protocol?: Protocol | undefined;
  /** HTTP version. gRPC always uses HTTP/2; Connect and gRPC-Web default to HTTP/1.1. */
  httpVersion?: "1.1" | "2" | undefined;
  /** Binary protobuf instead of JSON (Connect and gRPC-Web). Default: binary for gRPC-Web, JSON for Connect. */
  useBinaryFormat?: boolean | undefined;
  /** Extra interceptors, run after the bearer token is set. */
  interceptors?: Interceptor[] | undefined;
}

/** A connect-node transport to the gateway for the chosen protocol and HTTP version. */
export function createGatewayTransport(opts: GatewayTransportOptions): Transport {
  const interceptors = [...(opts.token !== undefined ? [bearerInterceptor(opts.token)] : []), ...(opts.interceptors ?? [])];
  const baseUrl = opts.baseUrl.replace(/\/+$/, "");
  switch (opts.protocol ?? "connect") {
    case "grpc":
      if (opts.httpVersion === "1.1") throw new Error("gRPC needs HTTP/2");
      return createGrpcTransport({ baseUrl, interceptors });
    case "grpc-web":
      return createGrpcWebTransport({
        baseUrl,
        httpVersion: opts.httpVersion ?? "1.1",
        useBinaryFormat: opts.useBinaryFormat ?? true,
        interceptors,
      });
    case "connect":
      return createConnectTransport({
        baseUrl,
        httpVersion: opts.httpVersion ?? "1.1",
        useBinaryFormat: opts.useBinaryFormat ?? false,
        interceptors,
      });
  }
}
