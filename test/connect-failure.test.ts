import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { closedPort } from "./support/closed-port.js";
import { SessionStatus } from "../gen/wagateway/v1/session_pb.js";
import { SessionService } from "../gen/wagateway/v1/session_service_pb.js";
import { expectApiError } from "./support/expect-error.js";
import { spawnGateway } from "./support/gateway-process.js";
import { clientFor, transportCases } from "./support/transports.js";
import { waitUntil } from "./support/wait.js";

const grpc = transportCases[0]!;

interface SessionJson {
  id: string;
  status: string;
  statusReason: string | null;
  lastError: string | null;
}

describe("a session that cannot reach WhatsApp says why", { timeout: 120_000 }, () => {
  it("connect_failed with the cause from the first attempt, GetQrCode answers at once, a warning per attempt, an error when it gives up", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "wagw-unreach-"));
    const port = await closedPort();
    const gw = await spawnGateway({
      DATA_DIR: dataDir,
      WA_WEBSOCKET_URL: `ws://127.0.0.1:${port}/ws/chat`,
      WA_MAX_RECONNECTS: "2",
      WA_RECONNECT_BASE_MS: "1500",
      WA_RECONNECT_MAX_MS: "1500",
    });
    try {
      const key = (await gw.waitForStdout(/API key:\s+(wag_\S+)/))[1]!;
      const headers = { authorization: `Bearer ${key}`, "content-type": "application/json" };
      const created = await fetch(`${gw.url}/api/v1/sessions`, { method: "POST", headers, body: JSON.stringify({ start: true }) });
      expect(created.status).toBe(201);
      const { id } = (await created.json()) as SessionJson;

      // REST JSON: the reason and the cause, while the session is still starting (retrying).
      const starting = await waitUntil("connect_failed", async () => {
        const s = (await (await fetch(`${gw.url}/api/v1/sessions/${id}`, { headers })).json()) as SessionJson;
        return s.statusReason === "connect_failed" ? s : undefined;
      }, 30_000);
      expect(starting.status).toBe("starting");
      expect(starting.lastError).toMatch(/ECONNREFUSED/);

      // GetQrCode does not wait for a QR that cannot come: conflict naming status, reason and cause.
      const client = clientFor(SessionService, grpc, gw.url, key);
      const err = await expectApiError(client.getQrCode({ session: id }), "conflict");
      expect(err.rawMessage).toMatch(/status starting, connect_failed: .*ECONNREFUSED/);
      const rest = await fetch(`${gw.url}/api/v1/sessions/${id}/qr`, { headers: { authorization: `Bearer ${key}`, accept: "application/json" } });
      expect(rest.status).toBe(409);
      expect(await rest.text()).toMatch(/connect_failed/);

      // Gives up after WA_MAX_RECONNECTS retries: failed, the cause kept.
      const failed = await waitUntil("failed", async () => {
        const { session } = await client.getSession({ session: id });
        return session?.status === SessionStatus.FAILED ? session : undefined;
      }, 60_000);
      expect(failed.statusReason).toBe("reconnect_attempts_exhausted");
      expect(failed.lastError).toMatch(/ECONNREFUSED/);
      await expectApiError(client.getQrCode({ session: id }), "conflict");

      const lines = gw
        .stderr()
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .map((l) => JSON.parse(l) as { level: string | number; msg: string; cause?: string; attempt?: number });
      const warnings = lines.filter((l) => l.msg === "connection attempt failed");
      expect(warnings.map((w) => w.attempt)).toEqual([1, 2]);
      for (const w of warnings) expect(w.cause).toMatch(/ECONNREFUSED/);
      const gaveUp = lines.filter((l) => l.msg.startsWith("giving up"));
      expect(gaveUp).toHaveLength(1);
      expect(gaveUp[0]!.cause).toMatch(/ECONNREFUSED/);
    } finally {
      expect(await gw.stop()).toBe(0);
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
