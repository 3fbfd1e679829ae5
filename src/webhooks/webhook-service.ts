import { create } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import { EventSchema } from "../../gen/wagateway/v1/event_pb.js";
import {
  CreateWebhookResponseSchema,
  DeleteWebhookResponseSchema,
  GetWebhookResponseSchema,
  ListDeliveriesResponseSchema,
  ListWebhooksResponseSchema,
  ReplayEventsResponseSchema,
  RotateWebhookSecretResponseSchema,
  SendTestEventResponseSchema,
  UpdateWebhookResponseSchema,
  type WebhookService,
} from "../../gen/wagateway/v1/webhook_service_pb.js";
import type { WebhookAttemptRow, WebhookRow } from "../db/schema.js";
import { apiError, validationError } from "../errors/api-error.js";
import type { EventLog } from "../events/event-log.js";
import { writeMessageJson } from "../rest/json-write.js";
import { principalOf } from "../auth/principal-context.js";
import { isUlid, ulid } from "../util/ulid.js";
import type { UrlPolicy } from "./url-guard.js";
import type { WebhookDispatcher } from "./webhook-dispatcher.js";
import { toDeliveryMessage, toWebhookMessage } from "./webhook-message.js";
import type { WebhookMetrics } from "./webhook-metrics.js";
import { webhookHeaders } from "./webhook-payload.js";
import type { WebhookRepository } from "./webhook-repository.js";
import { generateWebhookSecret } from "./webhook-secret.js";
import type { WebhookSender } from "./webhook-sender.js";
import { validateWebhookInput } from "./webhook-validation.js";

/** What the WebhookService is built from. */
export interface WebhookServiceDeps {
  repo: WebhookRepository;
  log: EventLog;
  dispatcher: WebhookDispatcher;
  sender: WebhookSender;
  metrics: WebhookMetrics;
  policy: UrlPolicy;
  /** How long a rotated-out secret keeps signing. */
  secretOverlapMs: number;
  /** Requests in flight per endpoint (the test event shares the endpoint's connections). */
  concurrency: number;
}

/** The WebhookService handlers: endpoints of the caller's organization only. */
export function createWebhookService(deps: WebhookServiceDeps): ServiceImpl<typeof WebhookService> {
  const { repo } = deps;
  const notFound = () => apiError("not_found", "webhook not found");
  const idOf = (raw: string) => {
    const id = raw.trim().toUpperCase();
    if (!isUlid(id)) throw notFound();
    return id;
  };
  const find = async (organizationId: string, raw: string): Promise<WebhookRow> => {
    const row = await repo.get(organizationId, idOf(raw));
    if (!row) throw notFound();
    return row;
  };

  return {
    async createWebhook(req, ctx) {
      const org = principalOf(ctx).organizationId;
      const checked = await validateWebhookInput(
        { url: req.url, eventTypes: req.eventTypes, sessions: req.sessions, description: req.description },
        deps.policy,
      );
      const secret = generateWebhookSecret();
      // Deliveries start with the next event after creation.
      const row = await repo.create({
        organizationId: org,
        url: checked.url!,
        eventTypes: checked.eventTypes ?? [],
        sessions: checked.sessions ?? [],
        description: checked.description ?? null,
        secret,
        cursor: await deps.log.latestId(),
      });
      deps.dispatcher.changed(row.id);
      return create(CreateWebhookResponseSchema, { webhook: toWebhookMessage(row), secret });
    },

    async listWebhooks(_req, ctx) {
      const rows = await repo.list(principalOf(ctx).organizationId);
      return create(ListWebhooksResponseSchema, { webhooks: rows.map(toWebhookMessage) });
    },

    async getWebhook(req, ctx) {
      return create(GetWebhookResponseSchema, { webhook: toWebhookMessage(await find(principalOf(ctx).organizationId, req.webhook)) });
    },

    async updateWebhook(req, ctx) {
      const org = principalOf(ctx).organizationId;
      const id = idOf(req.webhook);
      const checked = await validateWebhookInput(
        {
          url: req.url,
          eventTypes: req.updateEventTypes || req.eventTypes.length > 0 ? req.eventTypes : undefined,
          sessions: req.updateSessions || req.sessions.length > 0 ? req.sessions : undefined,
          description: req.description,
        },
        deps.policy,
      );
      const row = await repo.update(org, id, { ...checked, enabled: req.enabled });
      if (!row) throw notFound();
      deps.dispatcher.changed(row.id);
      return create(UpdateWebhookResponseSchema, { webhook: toWebhookMessage(row) });
    },

    async deleteWebhook(req, ctx) {
      if (!(await repo.delete(principalOf(ctx).organizationId, idOf(req.webhook)))) throw notFound();
      return create(DeleteWebhookResponseSchema, {});
    },

    async rotateWebhookSecret(req, ctx) {
      const org = principalOf(ctx).organizationId;
      const secret = generateWebhookSecret();
      const until = new Date(Date.now() + deps.secretOverlapMs);
      const row = await repo.rotate(org, idOf(req.webhook), secret, until);
      if (!row) throw notFound();
      deps.dispatcher.changed(row.id);
      return create(RotateWebhookSecretResponseSchema, { secret, previousValidUntil: BigInt(until.getTime()) });
    },

    async sendTestEvent(req, ctx) {
      const org = principalOf(ctx).organizationId;
      const row = await find(org, req.webhook);
      const now = new Date();
      const id = `test_${ulid(now.getTime())}`;
      const event = create(EventSchema, {
        id,
        type: "webhook.test",
        sessionId: "",
        organizationId: org,
        occurredAt: BigInt(now.getTime()),
        data: { webhookId: row.id },
      });
      const body = `{"type":"webhook.test","timestamp":${JSON.stringify(now.toISOString())},"data":${writeMessageJson(EventSchema, event)}}`;
      const secrets = [row.secret];
      if (row.previous_secret && row.previous_secret_until && row.previous_secret_until.getTime() > Date.now()) secrets.push(row.previous_secret);
      const res = await deps.sender.send(row.id, { url: row.url, headers: webhookHeaders(id, body, secrets), body }, deps.concurrency);
      deps.metrics.attempt(res.kind);
      const attempt: WebhookAttemptRow = {
        id: ulid(),
        organization_id: org,
        webhook_id: row.id,
        event_id: id,
        event_type: "webhook.test",
        attempt: 1,
        outcome: res.kind === "succeeded" ? "succeeded" : "failed",
        http_status: res.status ?? null,
        error: res.error ?? null,
        duration_ms: res.durationMs,
        attempted_at: now,
      };
      await repo.recordAttempt(attempt);
      return create(SendTestEventResponseSchema, { delivery: toDeliveryMessage(attempt) });
    },

    async listDeliveries(req, ctx) {
      const org = principalOf(ctx).organizationId;
      const row = await find(org, req.webhook);
      const fields: Record<string, string> = {};
      if (req.outcome !== undefined && req.outcome !== "succeeded" && req.outcome !== "failed") fields.outcome = 'must be "succeeded" or "failed"';
      if (req.pageSize < 0 || req.pageSize > 200) fields.pageSize = "must be 1..200";
      if (req.cursor !== undefined && !isUlid(req.cursor)) fields.cursor = "must be a nextCursor of a previous page";
      if (Object.keys(fields).length > 0) throw validationError(fields);
      const page = await repo.attempts(org, row.id, { outcome: req.outcome, pageSize: req.pageSize || 50, cursor: req.cursor });
      return create(ListDeliveriesResponseSchema, { deliveries: page.rows.map(toDeliveryMessage), nextCursor: page.nextCursor });
    },

    async replayEvents(req, ctx) {
      const org = principalOf(ctx).organizationId;
      const row = await find(org, req.webhook);
      if (req.after !== undefined && req.since !== undefined) throw validationError({ after: 'give "after" or "since", not both' });
      if (req.after === undefined && req.since === undefined) throw validationError({ after: 'give "after" (an event id) or "since" (epoch milliseconds)' });
      if (req.after !== undefined && !/^\d{1,19}$/.test(req.after)) throw validationError({ after: "must be an event id (a non-negative integer)" });
      if (req.since !== undefined && req.since < 0n) throw validationError({ since: "must be epoch milliseconds" });
      const pruned = await deps.log.prunedThrough();
      let after: bigint;
      if (req.after !== undefined) {
        after = BigInt(req.after);
        if (after < pruned) {
          throw apiError("conflict", `events up to ${pruned} were removed by retention; replay from a later id`, {
            metadata: { pruned_through: pruned.toString() },
          });
        }
      } else {
        const first = await deps.log.read({ after: pruned, organizationId: org, since: new Date(Number(req.since)), limit: 1 });
        after = first.length > 0 ? first[0]!.id - 1n : await deps.log.latestId();
      }
      const updated = await repo.rewind(org, row.id, after);
      if (!updated) throw notFound();
      deps.dispatcher.changed(row.id);
      return create(ReplayEventsResponseSchema, { after: after.toString() });
    },
  };
}
