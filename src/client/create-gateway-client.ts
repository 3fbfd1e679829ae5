import { type Client, createClient, type Transport } from "@connectrpc/connect";
import { ApiKeyService } from "../../gen/wagateway/v1/api_key_service_pb.js";
import { SessionService } from "../../gen/wagateway/v1/session_service_pb.js";
import { WebhookService } from "../../gen/wagateway/v1/webhook_service_pb.js";
import { createGatewayTransport, type GatewayTransportOptions } from "./create-gateway-transport.js";

/** Typed clients of every service of the contract, sharing one transport. */
export interface GatewayClient {
  sessions: Client<typeof SessionService>;
  apiKeys: Client<typeof ApiKeyService>;
  webhooks: Client<typeof WebhookService>;
  transport: Transport;
}

/**
 * Creates typed `SessionService`, `ApiKeyService` and `WebhookService` clients for a gateway.
 *
 * ```ts
 * const gw = createGatewayClient({ baseUrl: "http://127.0.0.1:8080", token: process.env.KEY, protocol: "grpc" });
 * const { sessions } = await gw.sessions.listSessions({});
 * ```
 */
export function createGatewayClient(opts: GatewayTransportOptions | { transport: Transport }): GatewayClient {
  const transport = "transport" in opts ? opts.transport : createGatewayTransport(opts);
  return {
    sessions: createClient(SessionService, transport),
    apiKeys: createClient(ApiKeyService, transport),
    webhooks: createClient(WebhookService, transport),
    transport,
  };
}
