import type { ConnectRouter } from "@connectrpc/connect";
import { ApiKeyService } from "../../gen/wagateway/v1/api_key_service_pb.js";
import { SessionService } from "../../gen/wagateway/v1/session_service_pb.js";
import type { ApiKeyAuthenticator } from "../auth/api-key-authenticator.js";
import type { ApiKeyRepository } from "../api-keys/api-key-repository.js";
import { createApiKeyService } from "../api-keys/api-key-service.js";
import type { Config } from "../config.js";
import type { SessionRepository } from "../sessions/session-repository.js";
import type { EventHub } from "../events/event-hub.js";
import type { EventLog } from "../events/event-log.js";
import { createWatchEvents } from "../events/watch-events.js";
import { createLifecycleService } from "../sessions/lifecycle-service.js";
import { createSessionService } from "../sessions/session-service.js";
import type { Supervisor } from "../whatsapp/supervisor.js";

/** What the services are built from. */
export interface RouteDeps {
  config: Config;
  sessions: SessionRepository;
  apiKeys: ApiKeyRepository;
  apiKeyAuthenticator: ApiKeyAuthenticator;
  events: { log: EventLog; hub: EventHub };
  engine: Supervisor;
}

/** Registers every service of the contract on a router. */
export function routes(deps: RouteDeps) {
  return (router: ConnectRouter) => {
    const { subscriberBuffer, heartbeatMs, stallMs } = deps.config.events;
    router.service(SessionService, {
      ...createSessionService({ sessions: deps.sessions, defaults: deps.config.sessionDefaults, engine: deps.engine }),
      ...createLifecycleService(deps.sessions, deps.engine),
      watchEvents: createWatchEvents(deps.events.hub, deps.events.log, { bufferSize: subscriberBuffer, heartbeatMs, stallMs }),
    });
    router.service(ApiKeyService, createApiKeyService(deps.apiKeys, deps.apiKeyAuthenticator));
  };
}
