import { create } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import {
  CreateSessionResponseSchema,
  DeleteSessionResponseSchema,
  GetSessionResponseSchema,
  ListSessionsResponseSchema,
  type SessionService,
  UpdateSessionResponseSchema,
} from "../../gen/wagateway/v1/session_service_pb.js";
import type { HolderClients } from "../cluster/holder-client.js";
import type { Config } from "../config.js";
import { apiError } from "../errors/api-error.js";
import { principalOf } from "../auth/principal-context.js";
import { ulid } from "../util/ulid.js";
import type { SessionRepository } from "./session-repository.js";
import { toSessionMessage } from "./session-message.js";
import { parseSessionId as sessionId, validateSessionSettings } from "./session-validation.js";
import type { Supervisor } from "../whatsapp/supervisor.js";

/** What the session handlers need. */
export interface SessionServiceDeps {
  sessions: SessionRepository;
  defaults: Config["sessionDefaults"];
  engine: Supervisor;
  /** Forwards to the gateway holding a session (PostgreSQL with several gateways). */
  holders: HolderClients | undefined;
}

const notFound = () => apiError("not_found", "session not found");

/** The SessionService's create/list/get/update/delete handlers (lifecycle RPCs: lifecycle-service.ts). */
export function createSessionService(deps: SessionServiceDeps): Partial<ServiceImpl<typeof SessionService>> {
  const { sessions, defaults, engine, holders } = deps;
  return {
    async createSession(req, ctx) {
      const principal = principalOf(ctx);
      validateSessionSettings(req);
      const now = new Date();
      const start = req.start ?? false;
      const row = await sessions.insert({
        id: ulid(now.getTime()),
        organization_id: principal.organizationId,
        label: req.label === undefined || req.label === "" ? null : req.label,
        // `start: true` is recorded as the wish to run; the session is
        // `starting` until the engine connects it. Nothing here pairs.
        status: start ? "starting" : "stopped",
        status_reason: null,
        desired_state: start ? "running" : "stopped",
        auto_read: req.autoRead ?? defaults.autoRead,
        presence_typing: req.presenceTyping ?? defaults.presenceTyping,
        rate_per_min: req.ratePerMin ?? defaults.ratePerMin,
        rate_per_hour: req.ratePerHour ?? defaults.ratePerHour,
        phone_number: null,
        wa_jid: null,
        wa_lid: null,
        gateway_id: null,
        is_admin_session: false,
        created_by_user_id: principal.userId ?? null,
        created_at: now,
        updated_at: now,
        last_connected_at: null,
      });
      if (!start) return create(CreateSessionResponseSchema, { session: toSessionMessage(row) });
      await engine.start(row.id);
      const started = (await engine.store.get(row.id)) ?? row;
      return create(CreateSessionResponseSchema, { session: toSessionMessage(started) });
    },

    async listSessions(_req, ctx) {
      const rows = await sessions.list(principalOf(ctx).organizationId);
      return create(ListSessionsResponseSchema, { sessions: rows.map(toSessionMessage) });
    },

    async getSession(req, ctx) {
      const row = await sessions.get(principalOf(ctx).organizationId, sessionId(req.session));
      if (!row) throw notFound();
      return create(GetSessionResponseSchema, { session: toSessionMessage(row) });
    },

    async updateSession(req, ctx) {
      const id = sessionId(req.session);
      validateSessionSettings(req);
      const patch = {
        ...(req.label !== undefined && { label: req.label === "" ? null : req.label }),
        ...(req.autoRead !== undefined && { auto_read: req.autoRead }),
        ...(req.presenceTyping !== undefined && { presence_typing: req.presenceTyping }),
        ...(req.ratePerMin !== undefined && { rate_per_min: req.ratePerMin }),
        ...(req.ratePerHour !== undefined && { rate_per_hour: req.ratePerHour }),
      };
      const row = await sessions.update(principalOf(ctx).organizationId, id, patch);
      if (!row) throw notFound();
      return create(UpdateSessionResponseSchema, { session: toSessionMessage(row) });
    },

    async deleteSession(req, ctx) {
      const org = principalOf(ctx).organizationId;
      const id = sessionId(req.session);
      const row = await sessions.get(org, id);
      if (!row) throw notFound();
      // The holder's socket must close (and unlink) first: delete runs where the session is held.
      const holder = holders ? await engine.heldElsewhere(id) : undefined;
      if (holder) return holders!.to(holder, ctx).deleteSession(req);
      // Unlink from WhatsApp when paired, stop the socket, then remove everything.
      if (row.phone_number !== null) await engine.logout(id);
      else await engine.stop(id);
      const deleted = await sessions.delete(org, id);
      if (!deleted) throw notFound();
      return create(DeleteSessionResponseSchema, {});
    },
  };
}
