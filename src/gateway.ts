import type { Kysely } from "kysely";
import { createApiKeyRepository } from "./api-keys/api-key-repository.js";
import { createApiKeyAuthenticator } from "./auth/api-key-authenticator.js";
import { createAuthFailureLimiter } from "./auth/auth-failure-limiter.js";
import { createAuthenticator } from "./auth/authenticator.js";
import type { Config } from "./config.js";
import { migrateToLatest } from "./db/migrate.js";
import { openDatabase } from "./db/open-database.js";
import type { Database } from "./db/schema.js";
import type { Logger } from "./logger.js";
import { ulid } from "./util/ulid.js";
import { authInterceptor } from "./server/auth-interceptor.js";
import { errorInterceptor } from "./server/error-interceptor.js";
import { type Listener, listen } from "./server/listener.js";
import { routes } from "./server/routes.js";
import { createGatewayHandler } from "./rest/gateway-handler.js";
import { createEventHub, type EventHub } from "./events/event-hub.js";
import { createDatabaseProbe, type HealthHandle, probeEndpoints, registerHealth, registerReflection, withEndpoints } from "./health/index.js";
import { createRpcMetrics, gatewayGauges, metricsEndpoint, withRequestContext } from "./metrics/index.js";
import { createEventLog, type EventLog } from "./events/event-log.js";
import { startEventRetention } from "./events/event-retention.js";
import { listenForEvents } from "./events/pg-listener.js";
import { createSessionRepository } from "./sessions/session-repository.js";
import { advertisedUrl } from "./cluster/advertised-url.js";
import { clusterGauges } from "./cluster/cluster-metrics.js";
import { type GatewayRegistry, joinCluster } from "./cluster/gateway-registry.js";
import { holderClients } from "./cluster/holder-client.js";
import { internalTokens, loadClusterSecret, withInternalTokens } from "./cluster/internal-token.js";
import { localSessionLeases, postgresSessionLeases } from "./cluster/session-leases.js";
import { createSupervisor, type Supervisor } from "./whatsapp/supervisor.js";
import { createDeliveryStore } from "./webhooks/delivery-store.js";
import { createWebhookDispatcher, type WebhookDispatcher } from "./webhooks/webhook-dispatcher.js";
import { createWebhookMetrics, webhookGauges } from "./webhooks/webhook-metrics.js";
import { consoleEndpoints } from "./console/console-endpoints.js";
import { createWebhookRepository } from "./webhooks/webhook-repository.js";
import { createWebhookSender } from "./webhooks/webhook-sender.js";
import { createMessageStore } from "./messages/message-store.js";
import { startMessageRetention } from "./messages/message-retention.js";
import { startMessageExpiry } from "./messages/expiry.js";
import { createSendingStore } from "./messages/sending-store.js";

/** A running gateway. */
export interface Gateway {
  config: Config;
  db: Kysely<Database>;
  databaseKind: "postgres" | "pglite";
  /** The event log and this process's subscription hub. */
  events: { log: EventLog; hub: EventHub };
  /** The WhatsApp engine of this process. */
  engine: Supervisor;
  /** This process's webhook deliverer. */
  webhooks: WebhookDispatcher;
  /** The bound port. */
  port: number;
  /** Base URL, e.g. `http://127.0.0.1:8080`. */
  url: string;
  /** Graceful stop: stop accepting, finish in-flight calls, close the database. */
  stop(): Promise<void>;
}

/** Opens the database, applies migrations and starts serving every protocol on one port. */
export async function startGateway(config: Config, log: Logger): Promise<Gateway> {
  const { db, kind } = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: config.database.poolSize });
  // The engine writes through its own pool, so auth-key bursts never starve API calls (PGlite: one instance).
  const engineDb = config.databaseUrl
    ? (await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: config.database.enginePoolSize })).db
    : db;
  let listener: Listener | undefined;
  try {
    const applied = await migrateToLatest(db);
    if (applied.length > 0) log.info({ applied }, "migrations applied");

    const eventLog = createEventLog(db, kind === "postgres");
    const hub = createEventHub({ log: eventLog, logger: log, pollIntervalMs: config.events.pollMs });
    await hub.start();
    // Webhooks: one deliverer per endpoint across the cluster, reading the same log.
    const webhookPolicy = { allowHttp: config.webhooks.allowHttp, allowPrivate: config.webhooks.allowPrivate };
    const webhookSender = createWebhookSender(webhookPolicy, config.webhooks.timeoutMs);
    const webhookMetrics = createWebhookMetrics();
    const webhooks = createWebhookDispatcher({
      store: createDeliveryStore(db, eventLog, kind === "postgres"),
      sender: webhookSender,
      metrics: webhookMetrics,
      log,
      delivery: {
        retryScheduleMs: config.webhooks.retryScheduleMs,
        concurrency: config.webhooks.concurrency,
        maxPending: config.webhooks.maxPending,
        idleMs: config.webhooks.scanMs,
      },
      scanMs: config.webhooks.scanMs,
      attemptRetentionMs: config.events.retentionMs,
    });
    eventLog.onAppended(webhooks.poke);
    const onNotify = () => {
      hub.poke();
      webhooks.poke();
    };
    const pgListener = config.databaseUrl ? listenForEvents(config.databaseUrl, onNotify, log) : undefined;
    const stopRetention = startEventRetention(
      eventLog,
      { maxAgeMs: config.events.retentionMs, maxCount: config.events.retentionCount, intervalMs: 60_000 },
      log,
    );
    const sessions = createSessionRepository(db, eventLog);
    const engineEvents = engineDb === db ? eventLog : createEventLog(engineDb, true);
    if (engineEvents !== eventLog) engineEvents.onAppended(onNotify);
    // PostgreSQL: sessions are leased among the gateways sharing the database; PGlite: one gateway.
    const clustered = kind === "postgres";
    let registry: GatewayRegistry | undefined;
    const leases = clustered ? postgresSessionLeases(engineDb) : localSessionLeases(engineDb);
    const messages = createMessageStore(db, eventLog);
    const engineMessages = engineDb === db ? messages : createMessageStore(engineDb, engineEvents);
    const engine = createSupervisor({ db: engineDb, events: engineEvents, config, log, leases, clustered, registry: () => registry, messages: engineMessages });
    // A message queued through any gateway wakes the outbox of the one holding its session.
    hub.observe((e) => {
      if (e.type === "message.status" && e.data.status === "queued") engine.kickOutbox(e.sessionId);
      // New rates apply to what is still queued: the holder's waiting message looks again.
      if (e.type === "session.updated") engine.kickOutbox(e.sessionId);
    });
    const stopMessageRetention = startMessageRetention(messages, { maxAgeMs: config.messages.retentionMs, intervalMs: 60_000 }, log);
    const stopMessageExpiry = startMessageExpiry(createSendingStore(db, eventLog), config.messages.expiryScanMs, log);
    const tokens = clustered ? internalTokens(await loadClusterSecret(db)) : undefined;
    const holders = tokens ? holderClients(tokens, config.gatewayId) : undefined;
    const apiKeys = createApiKeyRepository(db);
    const apiKeyAuthenticator = createApiKeyAuthenticator(apiKeys, config.apiKeyCacheTtlMs);
    // jose loads only when login JWTs are configured.
    const jwt = config.jwt ? (await import("./auth/jwt-authenticator.js")).createJwtAuthenticator(config.jwt) : undefined;
    const bearer = createAuthenticator(apiKeyAuthenticator, jwt);
    const authenticate = tokens ? withInternalTokens(tokens, bearer) : bearer;
    const shutdown = new AbortController();

    // Connect, gRPC, gRPC-Web and REST/JSON (google.api.http) share one router.
    const serve = routes({
      config,
      db,
      sessions,
      apiKeys,
      apiKeyAuthenticator,
      events: { log: eventLog, hub },
      engine,
      holders,
      messages,
      webhooks: {
        repo: createWebhookRepository(db),
        log: eventLog,
        dispatcher: webhooks,
        sender: webhookSender,
        metrics: webhookMetrics,
        policy: webhookPolicy,
        secretOverlapMs: config.webhooks.secretOverlapMs,
        concurrency: config.webhooks.concurrency,
      },
    });
    // gRPC health (database reachability) and server reflection, public; /healthz and /readyz beside them.
    const probe = createDatabaseProbe(db);
    let health: HealthHandle | undefined;
    let stoppingNow = false;
    // Prometheus text at /metrics; every response carries x-request-id.
    const rpcMetrics = createRpcMetrics(log);
    const handler = createGatewayHandler({
      routes: (router) => {
        serve(router);
        health = registerHealth(router, { probe, services: () => router.handlers.map((h) => h.service.typeName) });
        registerReflection(router);
      },
      // rpcMetrics first: it sees the final code of every call.
      interceptors: [rpcMetrics.interceptor, errorInterceptor(log), authInterceptor(authenticate, createAuthFailureLimiter(config.authFailures), log)],
      shutdownSignal: shutdown.signal,
      maxBodyBytes: config.http.maxBodyBytes,
      corsOrigins: config.http.corsOrigins,
      ...(config.trustedProxies && { trustedProxies: config.trustedProxies }),
      sseHeartbeatMs: config.http.sseHeartbeatMs,
      log,
      // The contract: unknown JSON fields are a validation_error, not ignored.
      jsonOptions: { ignoreUnknownFields: false },
    });
    const endpoints = new Map([
      ...probeEndpoints(probe, () => stoppingNow),
      ...metricsEndpoint([...rpcMetrics.metrics, ...gatewayGauges(db, hub, rpcMetrics.inFlight), ...clusterGauges(engine), ...webhookMetrics.metrics, ...webhookGauges(db, webhooks.size)]),
      // The web console at /console/ (same origin as the API; its own strict CSP).
      ...(config.console.enabled ? consoleEndpoints() : new Map()),
    ]);
    if (config.console.enabled && !endpoints.has("/console/")) log.warn("console not built (npm run build): /console/ is not served");
    listener = await listen({ host: config.host, port: config.port, tls: config.tls, handler: withRequestContext(withEndpoints(handler, endpoints)), log });
    if (clustered) {
      registry = await joinCluster({
        databaseUrl: config.databaseUrl!,
        db: engineDb,
        name: config.gatewayId,
        address: config.cluster.advertiseUrl ?? advertisedUrl(config, listener.port),
        capacity: config.cluster.capacity,
        leaseTtlMs: config.cluster.leaseTtlMs,
        log,
      });
    }
    if (registry) {
      registry.onLapse(() => webhooks.suspend());
      webhooks.start(registry.id());
    } else {
      webhooks.start(`${config.gatewayId}-${ulid()}`);
    }
    // Resume every session that should run (no QR needed for paired ones);
    // in the background, so the API answers while sockets connect.
    void engine.resumeAll().catch((err: unknown) => log.error({ err }, "resuming sessions failed"));
    const scheme = config.tls ? "https" : "http";
    const bound = listener;
    let stopping: Promise<void> | undefined;
    return {
      config,
      db,
      databaseKind: kind,
      events: { log: eventLog, hub },
      engine,
      webhooks,
      port: bound.port,
      url: `${scheme}://${config.host.includes(":") ? `[${config.host}]` : config.host}:${bound.port}`,
      stop() {
        stopping ??= (async () => {
          // Event streams end cleanly first, so they do not hold connections open.
          stoppingNow = true;
          health?.close();
          hub.close();
          await bound.close(config.shutdownGraceMs);
          await engine.close();
          await webhooks.close();
          shutdown.abort();
          stopRetention();
          stopMessageRetention();
          stopMessageExpiry();
          await pgListener?.close();
          await db.destroy();
          if (engineDb !== db) await engineDb.destroy();
        })();
        return stopping;
      },
    };
  } catch (err) {
    // A start that fails after listening (e.g. joining the cluster) leaves nothing open.
    await listener?.close(0).catch(() => {});
    await db.destroy().catch(() => {});
    if (engineDb !== db) await engineDb.destroy().catch(() => {});
    throw err;
  }
}
