import { create } from "@bufbuild/protobuf";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import {
  GetQrCodeResponseSchema,
  LogoutSessionResponseSchema,
  RequestPairingCodeResponseSchema,
  RestartSessionResponseSchema,
  type SessionService,
  StartSessionResponseSchema,
  StopSessionResponseSchema,
} from "../../gen/wagateway/v1/session_service_pb.js";
import type { HolderClients } from "../cluster/holder-client.js";
import type { SessionRow } from "../db/schema.js";
import { apiError } from "../errors/api-error.js";
import { principalOf } from "../auth/principal-context.js";
import type { Supervisor } from "../whatsapp/supervisor.js";
import type { SessionRepository } from "./session-repository.js";
import { toSessionMessage } from "./session-message.js";
import { parseSessionId, validatePhoneNumber } from "./session-validation.js";

/** How long GetQrCode waits for the next QR when the session holding it here is between two. */
const qrWaitMs = 5_000;

/**
 * The lifecycle RPCs: they drive the WhatsApp engine. Calls that need the
 * live socket (stop, restart, logout, QR, pairing code) run on the gateway that
 * holds the session: here, or forwarded to the holder through `holders`.
 */
export function createLifecycleService(
  sessions: SessionRepository,
  engine: Supervisor,
  holders: HolderClients | undefined,
): Pick<
  ServiceImpl<typeof SessionService>,
  "startSession" | "stopSession" | "restartSession" | "logoutSession" | "getQrCode" | "requestPairingCode"
> {
  /** The caller's session, or `not_found`. */
  const load = async (raw: string, ctx: HandlerContext): Promise<SessionRow> => {
    const row = await sessions.get(principalOf(ctx).organizationId, parseSessionId(raw));
    if (!row) throw apiError("not_found", "session not found");
    return row;
  };
  /** A client to the gateway holding the session when that is another one. */
  const holderOf = async (row: SessionRow, ctx: HandlerContext) => {
    if (!holders) return undefined;
    const holder = await engine.heldElsewhere(row.id);
    return holder ? holders.to(holder, ctx) : undefined;
  };
  /** `conflict` naming what the session is doing instead of waiting for a scan, and why. */
  const notWaitingForScan = (row: SessionRow) =>
    apiError("conflict", `session is not waiting for a QR scan (status ${row.status}${row.status_reason ? `, ${row.status_reason}` : ""}${row.last_error ? `: ${row.last_error}` : ""})`, {
      metadata: { status: row.status, ...(row.status_reason ? { statusReason: row.status_reason } : {}) },
    });
  const current = async (id: string) => {
    const row = await engine.store.get(id);
    if (!row) throw apiError("not_found", "session not found");
    return toSessionMessage(row);
  };
  const start = async (id: string) => {
    await engine.store.apply(id, { status: "starting", patch: { desired_state: "running" } });
    await engine.start(id);
  };
  const stop = async (id: string) => {
    await engine.store.apply(id, { patch: { desired_state: "stopped" } });
    await engine.stop(id);
    await engine.store.apply(id, { status: "stopped", patch: { gateway_id: null } });
  };

  return {
    async startSession(req, ctx) {
      const row = await load(req.session, ctx);
      // Running here or on another gateway: nothing to do.
      if (!engine.isRunning(row.id) && !(await engine.heldElsewhere(row.id))) await start(row.id);
      return create(StartSessionResponseSchema, { session: await current(row.id) });
    },

    async stopSession(req, ctx) {
      const row = await load(req.session, ctx);
      const remote = await holderOf(row, ctx);
      if (remote) return remote.stopSession(req);
      await stop(row.id);
      return create(StopSessionResponseSchema, { session: await current(row.id) });
    },

    async restartSession(req, ctx) {
      const row = await load(req.session, ctx);
      const remote = await holderOf(row, ctx);
      if (remote) return remote.restartSession(req);
      await engine.stop(row.id);
      await start(row.id);
      return create(RestartSessionResponseSchema, { session: await current(row.id) });
    },

    async logoutSession(req, ctx) {
      const row = await load(req.session, ctx);
      if (row.phone_number === null) throw apiError("conflict", "session is not paired");
      const remote = await holderOf(row, ctx);
      if (remote) return remote.logoutSession(req);
      await engine.store.apply(row.id, { patch: { desired_state: "stopped" } });
      await engine.logout(row.id);
      await engine.store.apply(row.id, {
        status: "stopped",
        patch: { phone_number: null, wa_jid: null, wa_lid: null, gateway_id: null },
        events: [{ type: "auth.logged_out", data: { requested: true } }],
      });
      return create(LogoutSessionResponseSchema, { session: await current(row.id) });
    },

    async getQrCode(req, ctx) {
      const row = await load(req.session, ctx);
      // Answered at once with what the session is doing instead (and why), never by waiting for a QR.
      if (row.status !== "scan_qr_code") throw notWaitingForScan(row);
      if (!engine.isRunning(row.id)) {
        // The QR on offer lives with the socket: ask the holder (a logged QR may be from a socket that is gone).
        const remote = await holderOf(row, ctx);
        if (remote) return remote.getQrCode(req);
        throw apiError("unavailable", "no gateway has the session connected right now (it is being placed or handed over); retry in a moment");
      }
      // Held here. Between two QRs (a reconnect) the next one comes within seconds: wait for it briefly.
      const qr = await engine.nextQr(row.id, qrWaitMs);
      if (qr) return create(GetQrCodeResponseSchema, { qr: qr.qr, expiresAt: BigInt(qr.expiresAt), attempt: qr.attempt });
      const now = await engine.store.get(row.id);
      if (now && now.status !== "scan_qr_code") throw notWaitingForScan(now);
      throw apiError("unavailable", "the session is reconnecting to WhatsApp and has no QR code on offer yet; retry in a moment (auth.qr events announce the next one)");
    },

    async requestPairingCode(req, ctx) {
      const row = await load(req.session, ctx);
      validatePhoneNumber(req.phoneNumber);
      const waiting = row.desired_state === "running" && (row.status === "starting" || row.status === "scan_qr_code");
      if (!waiting || row.phone_number !== null) {
        throw apiError("conflict", `session is not waiting for pairing (status ${row.status}); start it first`);
      }
      if (!engine.isRunning(row.id)) {
        const remote = await holderOf(row, ctx);
        if (remote) return remote.requestPairingCode(req);
        throw apiError("unavailable", "no gateway has connected the session yet; retry in a moment");
      }
      const code = await engine.requestPairingCode(row.id, req.phoneNumber);
      return create(RequestPairingCodeResponseSchema, { code });
    },
  };
}
