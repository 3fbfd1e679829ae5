import type { ConnectRouter } from "@connectrpc/connect";
import { ApiKeyService } from "../../gen/wagateway/v1/api_key_service_pb.js";
import { GatewayService } from "../../gen/wagateway/v1/gateway_service_pb.js";
import { SessionService } from "../../gen/wagateway/v1/session_service_pb.js";
import { WebhookService } from "../../gen/wagateway/v1/webhook_service_pb.js";
import { MessageService } from "../../gen/wagateway/v1/message_service_pb.js";
import { createMessageService } from "../messages/message-service.js";
import type { MessageStore } from "../messages/message-store.js";
import type { ApiKeyAuthenticator } from "../auth/api-key-authenticator.js";
import type { ApiKeyRepository } from "../api-keys/api-key-repository.js";
import { createApiKeyService } from "../api-keys/api-key-service.js";
import { createGatewayService } from "../cluster/gateway-service.js";
import type { HolderClients } from "../cluster/holder-client.js";
import type { Kysely } from "kysely";
import type { Config } from "../config.js";
import type { Database } from "../db/schema.js";
import type { SessionRepository } from "../sessions/session-repository.js";
import type { EventHub } from "../events/event-hub.js";
import type { EventLog } from "../events/event-log.js";
import { createStreamLimits } from "../events/stream-limits.js";
import { createWatchEvents } from "../events/watch-events.js";
import { createLifecycleService } from "../sessions/lifecycle-service.js";
import { createSessionService } from "../sessions/session-service.js";
import type { Supervisor } from "../whatsapp/supervisor.js";
import { createWebhookService, type WebhookServiceDeps } from "../webhooks/webhook-service.js";

/** What the services are built from. */
export interface RouteDeps {
  config: Config;
  db: Kysely<Database>;
  sessions: SessionRepository;
  apiKeys: ApiKeyRepository;
  apiKeyAuthenticator: ApiKeyAuthenticator;
  events: { log: EventLog; hub: EventHub };
  engine: Supervisor;
  /** Forwarding to a session's holder; undefined with one gateway (PGlite). */
  holders: HolderClients | undefined;
  /** The WebhookService's parts. */
  webhooks: WebhookServiceDeps;
  /** Messages as the API writes and reads them. */
  messages: MessageStore;
}

/** Registers every service of the contract on a router. */
export function routes(deps: RouteDeps) {
  const startedAt = new Date();
  return (router: ConnectRouter) => {
    const { subscriberBuffer, heartbeatMs, stallMs, maxStreamsPerOrg, maxStreamsPerCredential } = deps.config.events;
    const limits = createStreamLimits({ perOrganization: maxStreamsPerOrg, perCredential: maxStreamsPerCredential });
    router.service(SessionService, {
      ...createSessionService({ sessions: deps.sessions, defaults: deps.config.sessionDefaults, engine: deps.engine, holders: deps.holders }),
      ...createLifecycleService(deps.sessions, deps.engine, deps.holders),
      watchEvents: createWatchEvents(deps.events.hub, deps.events.log, limits, { bufferSize: subscriberBuffer, heartbeatMs, stallMs }),
    });
    router.service(
      MessageService,
      createMessageService({ db: deps.db, sessions: deps.sessions, store: deps.messages, engine: deps.engine, holders: deps.holders, config: deps.config.messages }),
    );
    router.service(ApiKeyService, createApiKeyService(deps.apiKeys, deps.apiKeyAuthenticator));
    router.service(WebhookService, createWebhookService(deps.webhooks));
    router.service(GatewayService, createGatewayService(deps.db, deps.engine, startedAt, deps.config.cluster.capacity));
  };
}
