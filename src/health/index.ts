/** Health checks (gRPC and HTTP) and gRPC server reflection. */
export { createDatabaseProbe, type DatabaseProbe, type DatabaseState } from "./database-probe.js";
export { type Endpoint, sendJson, withEndpoints } from "./endpoints.js";
export { type HealthHandle, registerHealth } from "./health-service.js";
export { probeEndpoints } from "./probe-endpoints.js";
export { reflectionServiceNames, registerReflection } from "./reflection-service.js";
