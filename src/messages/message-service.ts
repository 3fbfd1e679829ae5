import { lookup } from "node:dns/promises";
import { create } from "@bufbuild/protobuf";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import type { MediaType } from "@whiskeysockets/baileys";
import { type Baileys, baileys, loadBaileys } from "../whatsapp/baileys.js";
import type { Kysely } from "kysely";
import {
  CheckNumbersResponseSchema,
  GetMessageMediaResponseSchema,
  GetMessageResponseSchema,
  ListMessagesResponseSchema,
  MessageService,
  SendMessageResponseSchema,
} from "../../gen/wagateway/v1/message_service_pb.js";
import { MessageDirection } from "../../gen/wagateway/v1/message_pb.js";
import { principalOf } from "../auth/principal-context.js";
import type { HolderClients } from "../cluster/holder-client.js";
import type { Config } from "../config.js";
import type { Database, MessageRow, NewMessageRow, SessionRow } from "../db/schema.js";
import { apiError, validationError } from "../errors/api-error.js";
import type { SessionRepository } from "../sessions/session-repository.js";
import { parseSessionId } from "../sessions/session-validation.js";
import { isUlid, ulid } from "../util/ulid.js";
import type { Supervisor } from "../whatsapp/supervisor.js";
import { parseRecipient } from "./addressing.js";
import { isPrivateAddress, type MediaFetchPolicy } from "./media-fetch.js";
import { toMessageMessage } from "./message-message.js";
import type { MessageStore } from "./message-store.js";
import { validateSend } from "./message-validation.js";
import { isMediaKind } from "./message-words.js";
import { checkNumbers } from "./number-checks.js";
import { storedWaMessage } from "./outbound-content.js";
import { messageTtlMs } from "./expiry.js";
import { idempotencyKeyOf, releaseStaleKey, requestFingerprint } from "./idempotency.js";
import { SendableSessions } from "./sendable-sessions.js";

/** What the message handlers need. */
export interface MessageServiceDeps {
  db: Kysely<Database>;
  sessions: SessionRepository;
  store: MessageStore;
  engine: Supervisor;
  /** Forwarding to a session's holder (PostgreSQL with several gateways). */
  holders: HolderClients | undefined;
  config: Config["messages"];
}

const defaultPageSize = 50;
const maxPageSize = 500;
const maxPhonesPerCheck = 50;

const sessionNotFound = () => apiError("not_found", "session not found");
const messageNotFound = () => apiError("not_found", "message not found");

/** Reads a message id from a request (`message` field). */
function parseMessageId(raw: string, field = "message"): string {
  const id = raw.toUpperCase();
  if (id === "") throw validationError({ [field]: "is required" });
  if (!isUlid(id)) throw validationError({ [field]: "must be a message id (ULID)" });
  return id;
}

/** The MessageService handlers. */
export function createMessageService(deps: MessageServiceDeps): ServiceImpl<typeof MessageService> {
  const { sessions, store, engine, holders, config } = deps;
  const media: MediaFetchPolicy = { maxBytes: config.maxMediaBytes, timeoutMs: config.mediaFetchTimeoutMs, allowHttp: config.mediaAllowHttp, allowPrivate: config.mediaAllowPrivate };

  const session = async (ctx: HandlerContext, raw: string): Promise<SessionRow> => {
    const row = await sessions.get(principalOf(ctx).organizationId, parseSessionId(raw));
    if (!row) throw sessionNotFound();
    return row;
  };
  const sendable = new SendableSessions();
  /** The session of a send: as read moments ago when it was paired then (the enqueue checks it again), else read now. */
  const sendingSession = async (ctx: HandlerContext, raw: string): Promise<SessionRow> => {
    const row = sendable.get(principalOf(ctx).organizationId, parseSessionId(raw)) ?? (await session(ctx, raw));
    sendable.remember(row);
    return row;
  };
  const notPaired = () => apiError("conflict", "session is not paired: pair it before sending");

  /** A media host name that resolves to a private address is refused up front (the fetch checks again). */
  const checkMediaHost = async (url: string, field: string) => {
    if (media.allowPrivate) return;
    const host = new URL(url).hostname.replace(/^\[|\]$/g, "");
    const addresses = await lookup(host, { all: true }).catch(() => []);
    if (addresses.some((a) => isPrivateAddress(a.address))) throw validationError({ [field]: "points to a private, loopback or link-local address" });
  };

  return {
    async sendMessage(req, ctx) {
      let s = await sendingSession(ctx, req.session);
      const draft = validateSend(req, media);
      if (s.phone_number === null) throw notPaired();
      const c = req.content;
      if (isMediaKind(draft.type) && c.value && "url" in c.value && c.value.url) await checkMediaHost(c.value.url, `${draft.type}.url`);
      const lookupInSession = (id: string) => store.get(s.organization_id, s.id, id);
      if (draft.replyTo && !(await lookupInSession(draft.replyTo))) {
        throw apiError("not_found", "the message replied to was not found", { fields: { replyTo: "no such message in this session" } });
      }
      if (draft.targetId) {
        const field = `${draft.type}.messageId`;
        const target = await lookupInSession(draft.targetId);
        if (!target) throw apiError("not_found", `the message to ${draft.type === "reaction" ? "react to" : "revoke"} was not found`, { fields: { [field]: "no such message in this session" } });
        const r = draft.recipient;
        if (target.chat_id !== r.jid && !(r.phone && target.contact_phone === r.phone) && !(r.lid && target.contact_lid === r.lid)) {
          throw validationError({ to: "must be the chat of the target message" });
        }
        if (draft.type === "revoke" && target.direction !== "out") throw validationError({ [field]: "only the session's own messages can be revoked" });
      }
      const key = idempotencyKeyOf(ctx.requestHeader);
      const ttlMs = messageTtlMs(req.ttlMs, config.expiryMs);
      const now = new Date();
      if (key !== null) await releaseStaleKey(deps.db, s.id, key, new Date(now.getTime() - config.idempotencyTtlMs));
      const { generateMessageIDV2 } = await loadBaileys();
      const newRow = (s: SessionRow): NewMessageRow => ({
        id: ulid(now.getTime()),
        organization_id: s.organization_id,
        session_id: s.id,
        wa_message_id: generateMessageIDV2(s.wa_jid ?? undefined),
        direction: "out",
        source: "api",
        chat_id: draft.recipient.jid,
        contact_phone: draft.recipient.phone,
        contact_lid: draft.recipient.lid,
        contact_push_name: null,
        type: draft.type,
        content: JSON.stringify(draft.content),
        media_data: draft.mediaData,
        wa_message: null,
        reply_to: draft.replyTo,
        mentions: JSON.stringify(draft.mentions),
        status: "queued",
        status_reason: null,
        idempotency_key: key,
        request_hash: key === null ? null : requestFingerprint(req, s.id),
        created_at: now,
        sent_at: null,
        delivered_at: null,
        read_at: null,
        not_before: null,
        expires_at: new Date(now.getTime() + ttlMs),
        updated_at: now,
      });
      let queued = await store.enqueue(newRow(s));
      if (!queued) {
        // The session was deleted or unpaired since it was read: answer from a fresh read (or send if it may again).
        sendable.forget(s.organization_id, s.id);
        s = await session(ctx, req.session);
        if (s.phone_number === null) throw notPaired();
        queued = await store.enqueue(newRow(s));
        if (!queued) throw apiError("conflict", "the session changed while the message was queued; retry");
      }
      const { row } = queued;
      engine.kickOutbox(s.id);
      return create(SendMessageResponseSchema, { message: toMessageMessage(row) });
    },

    async getMessage(req, ctx) {
      const s = await session(ctx, req.session);
      const row = await store.get(s.organization_id, s.id, parseMessageId(req.message));
      if (!row) throw messageNotFound();
      return create(GetMessageResponseSchema, { message: toMessageMessage(row) });
    },

    async listMessages(req, ctx) {
      const s = await session(ctx, req.session);
      const fields: Record<string, string> = {};
      const pageSize = req.pageSize ?? defaultPageSize;
      if (pageSize < 1 || pageSize > maxPageSize) fields.pageSize = `must be between 1 and ${maxPageSize}`;
      let chat;
      if (req.chat !== undefined && req.chat !== "") {
        try {
          chat = parseRecipient(req.chat, "chat");
        } catch (err) {
          fields.chat = "must be a phone number, …@s.whatsapp.net or …@lid";
          void err;
        }
      }
      const direction = req.direction === undefined ? undefined : req.direction === MessageDirection.OUT ? "out" : req.direction === MessageDirection.IN ? "in" : null;
      if (direction === null) fields.direction = "must be out or in";
      if (req.since !== undefined && req.since < 0n) fields.since = "must be epoch milliseconds";
      if (req.until !== undefined && req.until < 0n) fields.until = "must be epoch milliseconds";
      if (Object.keys(fields).length > 0) throw validationError(fields);
      const { rows, next } = await store.list({
        organizationId: s.organization_id,
        sessionId: s.id,
        chat,
        direction: direction ?? undefined,
        since: req.since === undefined ? undefined : new Date(Number(req.since)),
        until: req.until === undefined ? undefined : new Date(Number(req.until)),
        limit: pageSize,
        cursor: req.cursor === "" ? undefined : req.cursor,
      });
      return create(ListMessagesResponseSchema, { messages: rows.map(toMessageMessage), nextCursor: next });
    },

    async *getMessageMedia(req, ctx) {
      const s = await session(ctx, req.session);
      const row = await store.get(s.organization_id, s.id, parseMessageId(req.message));
      if (!row) throw messageNotFound();
      const { downloadContentFromMessage } = await loadBaileys();
      const found = mediaOf(row);
      if (!found) throw apiError("not_found", isMediaKind(row.type) ? "the media of this message is not available yet" : "this message has no media");
      let stream;
      try {
        stream = await downloadContentFromMessage(found.media, found.kind, { options: { signal: ctx.signal } });
      } catch (err) {
        throw apiError("unavailable", "WhatsApp's media host did not serve the file; it may have expired", { cause: err });
      }
      let first = true;
      try {
        for await (const chunk of stream as AsyncIterable<Buffer>) {
          yield create(GetMessageMediaResponseSchema, { body: { contentType: first ? found.mimetype : "", data: chunk } });
          first = false;
        }
      } catch (err) {
        if (first) throw apiError("unavailable", "WhatsApp's media host did not serve the file; it may have expired", { cause: err });
        throw err;
      }
      if (first) yield create(GetMessageMediaResponseSchema, { body: { contentType: found.mimetype, data: new Uint8Array(0) } });
    },

    async checkNumbers(req, ctx) {
      const s = await session(ctx, req.session);
      const fields: Record<string, string> = {};
      if (req.phones.length === 0) fields.phones = "at least one phone number is required";
      if (req.phones.length > maxPhonesPerCheck) fields.phones = `at most ${maxPhonesPerCheck} phone numbers per call`;
      const phones: string[] = [];
      req.phones.forEach((p, i) => {
        const d = p.trim().replace(/^\+/, "").replace(/[\s-]/g, "");
        if (!/^[1-9]\d{5,14}$/.test(d)) fields[`phones[${i}]`] = "must be 6 to 15 digits with the country code";
        else phones.push(d);
      });
      if (Object.keys(fields).length > 0) throw validationError(fields);
      const unique = [...new Set(phones)];
      let needSocket = false;
      const sock = () => {
        const socket = engine.socketOf(s.id);
        if (!socket) {
          needSocket = true;
          throw apiError("conflict", "session is not working: start it (and pair it) to check numbers");
        }
        return socket;
      };
      try {
        const results = await checkNumbers(deps.db, s.organization_id, unique, config.numberCheckTtlMs, sock);
        return create(CheckNumbersResponseSchema, { results: results.map((r) => ({ phone: r.phone, exists: r.exists, jid: r.jid ?? undefined, lid: r.lid ?? undefined })) });
      } catch (err) {
        if (!needSocket || !holders) throw err;
        const holder = await engine.heldElsewhere(s.id);
        if (!holder) throw err;
        return holders.client(MessageService, holder, ctx).checkNumbers(req);
      }
    },
  };
}

/** The downloadable media of a stored message, from Baileys' own message. */
function mediaOf(row: MessageRow): { media: Parameters<Baileys["downloadContentFromMessage"]>[0]; kind: MediaType; mimetype: string } | undefined {
  if (!isMediaKind(row.type)) return undefined;
  const content = baileys().normalizeMessageContent(storedWaMessage(row)?.message);
  const m = content?.[`${row.type}Message`] ?? content?.documentWithCaptionMessage?.message?.documentMessage;
  if (!m?.mediaKey || !(m.directPath || m.url)) return undefined;
  const declared = (row.content[row.type] as { mimetype?: string } | undefined)?.mimetype;
  return { media: m, kind: row.type, mimetype: m.mimetype ?? declared ?? "application/octet-stream" };
}
