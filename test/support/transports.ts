import type { DescService } from "@bufbuild/protobuf";
import { type Client, createClient, type Interceptor, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";

/** A protocol × HTTP version × encoding a client can use. */
export interface TransportCase {
  name: string;
  make(baseUrl: string, interceptors: Interceptor[]): Transport;
}

/** Every way our generated clients reach the gateway. */
export const transportCases: TransportCase[] = [
  { name: "gRPC (HTTP/2, binary)", make: (baseUrl, interceptors) => createGrpcTransport({ baseUrl, interceptors }) },
  { name: "Connect (HTTP/1.1, JSON)", make: (baseUrl, interceptors) => createConnectTransport({ baseUrl, httpVersion: "1.1", interceptors }) },
  { name: "Connect (HTTP/1.1, binary)", make: (baseUrl, interceptors) => createConnectTransport({ baseUrl, httpVersion: "1.1", useBinaryFormat: true, interceptors }) },
  { name: "Connect (HTTP/2, JSON)", make: (baseUrl, interceptors) => createConnectTransport({ baseUrl, httpVersion: "2", interceptors }) },
  { name: "gRPC-Web (HTTP/1.1, binary)", make: (baseUrl, interceptors) => createGrpcWebTransport({ baseUrl, httpVersion: "1.1", useBinaryFormat: true, interceptors }) },
  { name: "gRPC-Web (HTTP/2, JSON)", make: (baseUrl, interceptors) => createGrpcWebTransport({ baseUrl, httpVersion: "2", interceptors }) },
];

/** An interceptor sending `Authorization: Bearer <token>` (omitted when token is undefined). */
export function bearer(token: string | undefined): Interceptor[] {
  if (token === undefined) return [];
  return [(next) => (req) => {
    req.header.set("authorization", `Bearer ${token}`);
    return next(req);
  }];
}

/** A typed client for `service` over `tc` with a bearer token. */
export function clientFor<S extends DescService>(service: S, tc: TransportCase, baseUrl: string, token: string | undefined): Client<S> {
  return createClient(service, tc.make(baseUrl, bearer(token)));
}
