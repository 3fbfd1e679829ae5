import type { DescService } from "@bufbuild/protobuf";
import { type Client, createClient, type HandlerContext } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { SessionService } from "../../gen/wagateway/v1/session_service_pb.js";
import { apiError } from "../errors/api-error.js";
import { principalOf } from "../auth/principal-context.js";
import type { InternalTokens } from "./internal-token.js";
import type { LeaseHolder } from "./session-leases.js";

/** Header marking a call one gateway forwarded to another (never forwarded again). */
export const forwardedHeader = "x-wagw-forwarded-by";

/** Calls on the gateway that holds a session's live socket. */
export interface HolderClients {
  /**
   * A SessionService client to `holder`, acting as the caller of `ctx`.
   * A call that was itself forwarded is not forwarded again (`unavailable`:
   * the session is moving; retry).
   */
  to(holder: LeaseHolder, ctx: HandlerContext): Client<typeof SessionService>;
  /** The same for any service of the contract (e.g. MessageService). */
  client<S extends DescService>(service: S, holder: LeaseHolder, ctx: HandlerContext): Client<S>;
}

/** Clients over h2c (one HTTP/2 connection per holder address), authenticated with internal tokens. */
export function holderClients(tokens: InternalTokens, selfName: string): HolderClients {
  const transports = new Map<string, ReturnType<typeof createConnectTransport>>();
  const transportFor = (address: string) => {
    let t = transports.get(address);
    if (!t) {
      t = createConnectTransport({ baseUrl: address, httpVersion: "2", useBinaryFormat: true });
      transports.set(address, t);
    }
    return t;
  };
  const clients: HolderClients = {
    to: (holder, ctx) => clients.client(SessionService, holder, ctx),
    client(service, holder, ctx) {
      if (ctx.requestHeader.has(forwardedHeader)) {
        throw apiError("unavailable", `session is moving between gateways (was held by ${holder.name}); retry`);
      }
      if (!holder.address) throw apiError("unavailable", `gateway ${holder.name} holds the session but advertises no address (GATEWAY_URL)`);
      const token = tokens.mint(principalOf(ctx));
      const requestId = ctx.requestHeader.get("x-request-id");
      const transport = transportFor(holder.address);
      return createClient(service, {
        unary(method, signal, timeoutMs, header, input, contextValues) {
          const h = new Headers(header);
          h.set("authorization", `Bearer ${token}`);
          h.set(forwardedHeader, selfName);
          if (requestId) h.set("x-request-id", requestId);
          return transport.unary(method, signal, timeoutMs ?? 30_000, h, input, contextValues);
        },
        stream: (...args) => transport.stream(...args),
      });
    },
  };
  return clients;
}
