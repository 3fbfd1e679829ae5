/**
 * Typed Node client of wa-gateway (`import … from "wa-gateway/client"`):
 * one factory over the generated code for gRPC, Connect and gRPC-Web.
 */
export { createGatewayClient, type GatewayClient } from "./create-gateway-client.js";
export { createGatewayTransport, type GatewayTransportOptions } from "./create-gateway-transport.js";
export { bearerInterceptor } from "./bearer-interceptor.js";
export { type ErrorReason, errorReason, errorViolations } from "./error-reason.js";
export { isProtocol, type Protocol, protocols } from "./protocol.js";
export { ConnectError, Code } from "@connectrpc/connect";
export * from "../../gen/wagateway/v1/session_pb.js";
export * from "../../gen/wagateway/v1/session_service_pb.js";
export * from "../../gen/wagateway/v1/api_key_pb.js";
export * from "../../gen/wagateway/v1/api_key_service_pb.js";
export * from "../../gen/wagateway/v1/event_pb.js";
