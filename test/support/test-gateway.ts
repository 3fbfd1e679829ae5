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
import { createScratchDatabase } from "./scratch-database.js";
import { testSendingEnv } from "./sending-defaults.js";

/** A gateway started in-process on an ephemeral port, with helpers for tests. */
export interface TestGateway extends Gateway {
  /** Creates an API key directly in the database; returns its secret. */
  createKey(orgId: string, permissions: Capability[]): Promise<string>;
  /** A fresh organization id, unique per call. */
  newOrgId(): string;
  /** Stops the gateway and removes its temporary data directory. */
  close(): Promise<void>;
}

/**
 * Starts a gateway on `backend` with `env` overrides (PORT 0, loopback). On
 * PostgreSQL it gets a database of its own (dropped at close): gateways
 * sharing a database form one cluster and would take each other's sessions.
 */
export async function startTestGateway(backend: Backend, env: Record<string, string> = {}): Promise<TestGateway> {
  const dataDir = mkdtempSync(join(tmpdir(), "wagw-test-"));
  const scratch = backend.databaseUrl ? await createScratchDatabase(backend.databaseUrl) : undefined;
  const config: Config = loadConfig({
    PORT: "0",
    HOST: "127.0.0.1",
    DATA_DIR: dataDir,
    ...(scratch ? { DATABASE_URL: scratch.url } : {}),
    SHUTDOWN_GRACE_MS: "2000",
    GATEWAY_ID: "gw-test",
    LOG_LEVEL: "error",
    // No test talks to the real WhatsApp: sessions started without a simulator fail fast locally.
    WA_WEBSOCKET_URL: "ws://127.0.0.1:9/ws/chat",
    ...testSendingEnv,
    ...env,
  });
  let gateway: Gateway;
  try {
    gateway = await startGateway(config, createLogger("error"));
  } catch (err) {
    await scratch?.drop();
    throw err;
  }
  const keys = createApiKeyRepository(gateway.db);
  return {
    ...gateway,
    async createKey(orgId, permissions) {
      return (await keys.create({ organizationId: orgId, name: "test", permissions })).secret;
    },
    newOrgId: () => `org_${ulid()}`,
    async close() {
      await gateway.stop();
      await scratch?.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
