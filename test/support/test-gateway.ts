import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createApiKeyRepository } from "../../src/api-keys/api-key-repository.js";
import type { Capability } from "../../src/auth/principal.js";
import { type Config, loadConfig } from "../../src/config.js";
import { type Gateway, startGateway } from "../../src/gateway.js";
import { createLogger } from "../../src/logger.js";
import { ulid } from "../../src/util/ulid.js";
import type { Backend } from "./backends.js";

/** A gateway started in-process on an ephemeral port, with helpers for tests. */
export interface TestGateway extends Gateway {
  /** Creates an API key directly in the database; returns its secret. */
  createKey(orgId: string, permissions: Capability[]): Promise<string>;
  /** A fresh organization id, unique per call. */
  newOrgId(): string;
  /** Stops the gateway and removes its temporary data directory. */
  close(): Promise<void>;
}

/** Starts a gateway on `backend` with `env` overrides (PORT 0, loopback). */
export async function startTestGateway(backend: Backend, env: Record<string, string> = {}): Promise<TestGateway> {
  const dataDir = mkdtempSync(join(tmpdir(), "wagw-test-"));
  const config: Config = loadConfig({
    PORT: "0",
    HOST: "127.0.0.1",
    DATA_DIR: dataDir,
    ...(backend.databaseUrl ? { DATABASE_URL: backend.databaseUrl } : {}),
    SHUTDOWN_GRACE_MS: "2000",
    GATEWAY_ID: "gw-test",
    LOG_LEVEL: "error",
    // No test talks to the real WhatsApp: sessions started without a simulator fail fast locally.
    WA_WEBSOCKET_URL: "ws://127.0.0.1:9/ws/chat",
    ...env,
  });
  const gateway = await startGateway(config, createLogger("error"));
  const keys = createApiKeyRepository(gateway.db);
  return {
    ...gateway,
    async createKey(orgId, permissions) {
      return (await keys.create({ organizationId: orgId, name: "test", permissions })).secret;
    },
    newOrgId: () => `org_${ulid()}`,
    async close() {
      await gateway.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
