import { type Client, Code, ConnectError } from "@connectrpc/connect";
import type { Session, SessionStatus } from "../../gen/wagateway/v1/session_pb.js";
import type { SessionService } from "../../gen/wagateway/v1/session_service_pb.js";

/** Polls `check` until it returns a value (not undefined) or `timeoutMs` passes. */
export async function waitUntil<T>(what: string | (() => string), check: () => Promise<T | undefined> | T | undefined, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === "string" ? what : what()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Polls GetSession until the session has `status`; returns it. */
export function waitForStatus(client: Client<typeof SessionService>, id: string, status: SessionStatus, timeoutMs = 45_000): Promise<Session> {
  let last: Session | undefined;
  return waitUntil(
    () => `session ${id} to reach status ${status} (last: ${last?.status} ${last?.statusReason ?? ""})`,
    async () => {
      last = (await retryUnavailable(() => client.getSession({ session: id }))).session;
      return last?.status === status ? last : undefined;
    },
    timeoutMs,
  );
}

/**
 * Calls `call`, and again after a growing pause while it answers
 * `unavailable` (503: what the contract tells a client to retry), for at
 * most `timeoutMs`; any other error, or the last `unavailable`, is thrown.
 */
export async function retryUnavailable<T>(call: () => Promise<T>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (let delay = 100; ; delay = Math.min(delay * 2, 2_000)) {
    try {
      return await call();
    } catch (err) {
      if (!(err instanceof ConnectError && err.code === Code.Unavailable) || Date.now() + delay > deadline) throw err;
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}
