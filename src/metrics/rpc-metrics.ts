import { Code, ConnectError, type Interceptor, type StreamResponse, type UnaryResponse } from "@connectrpc/connect";
import type { DescMessage } from "@bufbuild/protobuf";
import type { Logger } from "../logger.js";
import { counter, histogram } from "./registry.js";
import { clientAddressHeader } from "../server/client-address.js";
import { kPrincipal } from "../auth/principal-context.js";
import { protocolHeader, requestIdHeader, requestLog } from "./request-context.js";

/** Latency buckets in seconds. */
const buckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

/** Request counts and latencies by procedure, protocol and code, plus one access-log line per call. */
export function createRpcMetrics(log?: Logger) {
  const requests = counter("wagateway_rpc_requests_total", "RPCs handled, by procedure, protocol and status code.");
  const latency = histogram("wagateway_rpc_duration_seconds", "RPC duration until the response (streams: until they end), in seconds.", buckets);
  let inFlight = 0;

  const done = (procedure: string, protocol: string, requestId: string, client: string | null, org: () => string | undefined, started: number, err: unknown) => {
    const code = err === undefined ? "ok" : codeName(ConnectError.from(err).code);
    const seconds = (performance.now() - started) / 1000;
    requests.inc({ procedure, protocol, code });
    latency.observe({ procedure, protocol }, seconds);
    // Never the headers or messages: they carry tokens and secrets.
    if (log?.isLevelEnabled("debug")) requestLog(log, requestId, org()).debug({ client, procedure, protocol, code, ms: Math.round(seconds * 1000) }, "rpc");
  };

  /** Outermost interceptor: sees the final code of every call. */
  const interceptor: Interceptor = (next) => async (req) => {
    const procedure = `${req.service.typeName}/${req.method.name}`;
    const protocol = req.header.get(protocolHeader) ?? "connect";
    const requestId = req.header.get(requestIdHeader) ?? "";
    // The caller's address (the TCP peer, or what a trusted proxy forwarded).
    const client = req.header.get(clientAddressHeader);
    // Set by the auth interceptor (inside this one) once the caller is known.
    const orgOf = () => req.contextValues.get(kPrincipal)?.organizationId;
    const started = performance.now();
    inFlight++;
    let res: UnaryResponse | StreamResponse;
    try {
      res = await next(req);
    } catch (err) {
      inFlight--;
      done(procedure, protocol, requestId, client, orgOf, started, err);
      throw err;
    }
    if (!res.stream) {
      inFlight--;
      done(procedure, protocol, requestId, client, orgOf, started, undefined);
      return res;
    }
    const source = res.message;
    async function* measured() {
      let failure: unknown;
      try {
        yield* source;
      } catch (err) {
        failure = err;
        throw err;
      } finally {
        inFlight--;
        done(procedure, protocol, requestId, client, orgOf, started, failure);
      }
    }
    return { ...res, message: measured() } as StreamResponse<DescMessage, DescMessage>;
  };
  return { interceptor, metrics: [requests, latency], inFlight: () => inFlight };
}

function codeName(code: Code): string {
  return (Code[code] ?? "unknown").replace(/([a-z])([A-Z])/g, "$1_$2").toLowerCase();
}
