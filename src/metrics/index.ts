/** Prometheus metrics, request ids and the per-call access log. */
export { gatewayGauges, metricsEndpoint } from "./gateway-metrics.js";
export { counter, gauge, histogram, type Metric, renderMetrics } from "./registry.js";
export { protocolHeader, protocolOf, requestIdHeader, requestLog, withRequestContext } from "./request-context.js";
export { createRpcMetrics } from "./rpc-metrics.js";
