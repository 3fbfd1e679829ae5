// Every call of the console goes through the contract: connect-web clients on the generated code,
// same origin as the page, the credential from sessionStorage as a bearer token.
import { type Client, Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { BadRequestSchema, ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { ApiKeyService } from "../../gen/wagateway/v1/api_key_service_pb.js";
import { GatewayService } from "../../gen/wagateway/v1/gateway_service_pb.js";
import { MessageService } from "../../gen/wagateway/v1/message_service_pb.js";
import { SessionService } from "../../gen/wagateway/v1/session_service_pb.js";
import { WebhookService } from "../../gen/wagateway/v1/webhook_service_pb.js";

const storageKey = "wa-gateway.console.token";

/** The credential kept for this tab (sessionStorage: gone when the tab closes, never in a URL). */
export function storedToken(): string | undefined {
  return sessionStorage.getItem(storageKey) ?? undefined;
}

/** Keeps (or with `undefined`, forgets) the credential. */
export function storeToken(token: string | undefined): void {
  if (token === undefined) sessionStorage.removeItem(storageKey);
  else sessionStorage.setItem(storageKey, token);
}

/** The console's clients, one per service, all on one transport. */
export interface Api {
  sessions: Client<typeof SessionService>;
  messages: Client<typeof MessageService>;
  webhooks: Client<typeof WebhookService>;
  keys: Client<typeof ApiKeyService>;
  gateways: Client<typeof GatewayService>;
}

/** Clients that send `token` as the bearer credential to the page's own origin. */
export function createApi(token: string): Api {
  const bearer: Interceptor = (next) => (req) => {
    req.header.set("authorization", `Bearer ${token}`);
    return next(req);
  };
  const transport = createConnectTransport({ baseUrl: location.origin, interceptors: [bearer] });
  return {
    sessions: createClient(SessionService, transport),
    messages: createClient(MessageService, transport),
    webhooks: createClient(WebhookService, transport),
    keys: createClient(ApiKeyService, transport),
    gateways: createClient(GatewayService, transport),
  };
}

/** The contract's word for an error (`validation_error`, `not_found`, …), or undefined for a non-API error. */
export function errorWord(err: unknown): string | undefined {
  if (!(err instanceof ConnectError)) return undefined;
  return err.findDetails(ErrorInfoSchema)[0]?.reason ?? undefined;
}

/** An error in the contract's words: `word: message` and each offending field. */
export function describeError(err: unknown): string {
  if (!(err instanceof ConnectError)) return err instanceof Error ? err.message : String(err);
  const word = errorWord(err) ?? Code[err.code] ?? "error";
  const fields = err
    .findDetails(BadRequestSchema)
    .flatMap((b) => b.fieldViolations.map((v) => `${v.field}: ${v.description}`));
  return `${word}: ${err.rawMessage}${fields.length ? ` (${fields.join("; ")})` : ""}`;
}
