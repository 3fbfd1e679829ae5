import { hostname } from "node:os";
import { resolve } from "node:path";
import { parseTrustedProxies, type TrustedProxies } from "./server/trusted-proxies.js";

/** Everything the gateway reads from its environment, parsed once at start. */
export interface Config {
  /** TCP port for every protocol (`PORT`). */
  port: number;
  /** Interface to bind (`HOST`). */
  host: string;
  /** `postgres://…` (`DATABASE_URL`); undefined selects embedded PGlite. */
  databaseUrl: string | undefined;
  /** Directory of the embedded database (`DATA_DIR`). */
  dataDir: string;
  /**
   * PostgreSQL connections: `poolSize` for API calls (`DB_POOL_SIZE`),
   * `enginePoolSize` for the WhatsApp engine's writes (`DB_ENGINE_POOL_SIZE`),
   * kept apart so a burst of auth-key writes never starves the API.
   */
  database: { poolSize: number; enginePoolSize: number };
  /**
   * Several gateways on one PostgreSQL (ignored with PGlite).
   * `leaseTtlMs` (`LEASE_TTL_MS`): a gateway that stops renewing loses its
   * sessions after this long; `capacity` (`GATEWAY_CAPACITY`): most sessions
   * this gateway holds; `advertiseUrl` (`GATEWAY_URL`): where other gateways
   * reach this one for calls that need the live socket; `rebalance`
   * (`GATEWAY_REBALANCE`): move working sessions to a gateway that has fewer.
   */
  cluster: { leaseTtlMs: number; capacity: number; advertiseUrl: string | undefined; rebalance: boolean };
  /** PEM certificate and key paths (`TLS_CERT`, `TLS_KEY`); both or neither. */
  tls: { certFile: string; keyFile: string } | undefined;
  /** Login-token verification; undefined turns JWT login off. */
  jwt:
    | {
        jwksUrl: URL;
        issuer: string | undefined;
        audience: string | undefined;
        orgClaim: string;
        roleClaim: string;
        clockToleranceSec: number;
      }
    | undefined;
  /** How long a verified API key is trusted without a database look-up. */
  apiKeyCacheTtlMs: number;
  /** Failed bearer attempts per client address and window before `rate_limited` (`AUTH_FAILURE_LIMIT`, 0 = off; `AUTH_FAILURE_WINDOW_MS`). */
  authFailures: { limit: number; windowMs: number };
  /** This process's id, shown as `gatewayId` (`GATEWAY_ID`). */
  gatewayId: string;
  /** WhatsApp's WebSocket endpoint (`WA_WEBSOCKET_URL`). */
  waWebSocketUrl: string;
  /** The WhatsApp engine's tunables. */
  whatsapp: {
    /** Root public key the server certificate must chain to (`WA_ROOT_PUBLIC_KEY`, base64); only for a simulator. */
    rootPublicKey: Buffer | undefined;
    /** Consecutive transient failures before `failed` (`WA_MAX_RECONNECTS`). */
    maxReconnects: number;
    /** First reconnect delay; doubles per failure with jitter (`WA_RECONNECT_BASE_MS`). */
    reconnectBaseMs: number;
    /** Largest reconnect delay (`WA_RECONNECT_MAX_MS`). */
    reconnectMaxMs: number;
    /** Handshake timeout (`WA_CONNECT_TIMEOUT_MS`). */
    connectTimeoutMs: number;
    /** Keepalive ping interval (`WA_KEEPALIVE_MS`). */
    keepAliveMs: number;
    /** QR lifetime; unset keeps Baileys' default 60 s then 20 s (`WA_QR_TIMEOUT_MS`). */
    qrTimeoutMs: number | undefined;
    /** How often the supervisor reconciles with the database and takes up unheld sessions (`WA_SCAN_MS`). */
    scanMs: number;
    /** Level of Baileys' own logs routed into ours (`WA_LOG_LEVEL`). */
    logLevel: "debug" | "info" | "warn" | "error";
    /** A Baileys warning or error repeated by one session within this window is written once, then counted (`WA_LOG_REPEAT_WINDOW_MS`). */
    logRepeatWindowMs: number;
    /**
     * Baileys' per-socket async storages multiplexed over one
     * (`WA_SHARE_ASYNC_STORAGE`): `auto` does it where the runtime lacks
     * AsyncContextFrame (Node 20, 22), `on`/`off` force it (benchmarks).
     */
    shareAsyncStorage: "auto" | "on" | "off";
    /**
     * Signal keys each session's holder keeps in memory, least recently used
     * dropped first (`WA_KEY_CACHE_ENTRIES`; 0 reads every key from the database).
     */
    keyCacheEntries: number;
  };
  /** Gateway defaults for fields omitted at create. */
  sessionDefaults: { autoRead: boolean; presenceTyping: boolean; ratePerMin: number; ratePerHour: number };
  /** Event log and stream tunables. */
  events: {
    /** Events older than this are pruned (`EVENTS_RETENTION_MS`). */
    retentionMs: number;
    /** At most this many events are kept (`EVENTS_RETENTION_COUNT`). */
    retentionCount: number;
    /** Pending live events per subscriber before its stream ends with a resume error (`EVENTS_SUBSCRIBER_BUFFER`). */
    subscriberBuffer: number;
    /** A client accepting nothing for this long while events pile up gets a resume error (`EVENTS_STALL_MS`). */
    stallMs: number;
    /** Heartbeat after this long without events (`EVENTS_HEARTBEAT_MS`). */
    heartbeatMs: number;
    /** The hub re-reads the log at least this often (`EVENTS_POLL_MS`). */
    pollMs: number;
    /** Concurrent event streams per organization (`EVENTS_MAX_STREAMS_PER_ORG`, 0 = unlimited); past it a new stream is `rate_limited`. */
    maxStreamsPerOrg: number;
    /** Concurrent event streams per credential, one API key or one user (`EVENTS_MAX_STREAMS_PER_CREDENTIAL`, 0 = unlimited). */
    maxStreamsPerCredential: number;
  };
  /** Webhook delivery. */
  webhooks: {
    /** Accept `http://` endpoint URLs (`WEBHOOK_ALLOW_HTTP`); https only otherwise. */
    allowHttp: boolean;
    /** Accept private, loopback and link-local destinations (`WEBHOOK_ALLOW_PRIVATE`). */
    allowPrivate: boolean;
    /** A delivery without a 2xx within this long failed (`WEBHOOK_TIMEOUT_MS`). */
    timeoutMs: number;
    /** Delay before each attempt of an event, first attempt included (`WEBHOOK_RETRY_SCHEDULE_MS`, comma-separated). */
    retryScheduleMs: number[];
    /** Requests in flight per endpoint (`WEBHOOK_CONCURRENCY`). */
    concurrency: number;
    /** How long a rotated-out secret keeps signing beside the new one (`WEBHOOK_SECRET_OVERLAP_MS`). */
    secretOverlapMs: number;
    /** Endpoints without a live deliverer are taken up at least this often (`WEBHOOK_SCAN_MS`). */
    scanMs: number;
    /** Events an endpoint takes from the log ahead of its receiver (`WEBHOOK_MAX_PENDING`). */
    maxPending: number;
  };
  /** Messages: outbox, media and history. */
  messages: {
    /** Largest media file sent or fetched, in bytes (`MAX_MEDIA_BYTES`). */
    maxMediaBytes: number;
    /** Time limit for fetching a media URL (`MEDIA_FETCH_TIMEOUT_MS`). */
    mediaFetchTimeoutMs: number;
    /** Allow `http:` media URLs, not only `https:` (`MEDIA_ALLOW_HTTP`). */
    mediaAllowHttp: boolean;
    /** Allow media URLs on private, loopback and link-local addresses (`MEDIA_ALLOW_PRIVATE`). */
    mediaAllowPrivate: boolean;
    /** A message not sent this long after it was accepted fails as `expired` (`MESSAGE_TTL_MS`; `MESSAGE_EXPIRY_MS` is read as an older name). */
    expiryMs: number;
    /** How often every gateway fails queued messages past their expiry, held or not (`MESSAGE_EXPIRY_SCAN_MS`). */
    expiryScanMs: number;
    /** How long an `Idempotency-Key` is remembered per session (`IDEMPOTENCY_KEY_TTL_MS`). */
    idempotencyTtlMs: number;
    /** Messages older than this are pruned (`MESSAGES_RETENTION_MS`). */
    retentionMs: number;
    /** How long a CheckNumbers answer is reused (`NUMBER_CHECK_TTL_MS`). */
    numberCheckTtlMs: number;
    /** A working session's holder looks for queued messages at least this often (`OUTBOX_POLL_MS`). */
    outboxPollMs: number;
  };
  /** How a session's holder sends: pacing, typing, WhatsApp's restrictions. */
  sending: {
    /** Length of the "per minute" window of `ratePerMin` (`PACING_MINUTE_MS`; only tests shorten it). */
    minuteMs: number;
    /** Length of the "per hour" window of `ratePerHour` (`PACING_HOUR_MS`; only tests shorten it). */
    hourMs: number;
    /**
     * A send stops counting against a window this long after the window's length (`PACING_WINDOW_MARGIN_MS`):
     * WhatsApp sees a message a little after we stamp it sent, and the budget must hold on WhatsApp's clock.
     */
    windowMarginMs: number;
    /** Random pause between two sends of a session, lower and upper bound (`SEND_JITTER_MIN_MS`, `SEND_JITTER_MAX_MS`). */
    jitterMinMs: number;
    jitterMaxMs: number;
    /** After a (re)connect or take-over, the rate climbs from `rampStartPercent` % to 100 % over this long (`PACING_RAMP_MS`, 0 = off). */
    rampMs: number;
    /** Share of `ratePerMin` allowed right after a (re)connect (`PACING_RAMP_START_PERCENT`). */
    rampStartPercent: number;
    /** Typing (`presenceTyping`): `composing` lasts `TYPING_MIN_MS` + `TYPING_MS_PER_CHAR` per character, at most `TYPING_MAX_MS`. */
    typingMinMs: number;
    typingMsPerChar: number;
    typingMaxMs: number;
    /** How long sends to new chats stay held after error 463 when WhatsApp gives no end time (`REACHOUT_TIMELOCK_HOLD_MS`). */
    reachoutHoldMs: number;
  };
  /** Grace period for in-flight calls on shutdown. */
  shutdownGraceMs: number;
  /**
   * Reverse proxies / load balancers whose `Forwarded` / `X-Forwarded-For` / `X-Forwarded-Proto` are believed
   * (`TRUSTED_PROXIES`, CIDRs separated by commas or spaces); undefined: forwarding headers are ignored.
   */
  trustedProxies: TrustedProxies | undefined;
  /** Minimum level written to the log (`LOG_LEVEL`). */
  logLevel: "debug" | "info" | "warn" | "error";
  /** HTTP front: body cap (`MAX_BODY_BYTES`), CORS origins (`CORS_ORIGINS`), SSE heartbeats (`SSE_HEARTBEAT_MS`). */
  http: { maxBodyBytes: number; corsOrigins: string[]; sseHeartbeatMs: number };
  /** The web console at `/console/` (`CONSOLE_ENABLED`). */
  console: { enabled: boolean };
}

/** A configuration value that cannot be used; the message names the variable. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

type Env = Record<string, string | undefined>;

/** Parses the environment into a {@link Config}, failing on the first bad value. */
export function loadConfig(env: Env = process.env): Config {
  const jwksUrl = nonEmpty(env.JWKS_URL);
  const certFile = nonEmpty(env.TLS_CERT);
  const keyFile = nonEmpty(env.TLS_KEY);
  if (Boolean(certFile) !== Boolean(keyFile)) {
    throw new ConfigError("TLS_CERT and TLS_KEY must be set together");
  }
  return {
    port: int(env, "PORT", 8080, 0, 65535),
    host: nonEmpty(env.HOST) ?? "127.0.0.1",
    databaseUrl: nonEmpty(env.DATABASE_URL),
    dataDir: resolve(nonEmpty(env.DATA_DIR) ?? "./data"),
    database: {
      poolSize: int(env, "DB_POOL_SIZE", 10, 1, 1_000),
      enginePoolSize: int(env, "DB_ENGINE_POOL_SIZE", 5, 1, 1_000),
    },
    cluster: {
      leaseTtlMs: int(env, "LEASE_TTL_MS", 15_000, 1_000, 600_000),
      capacity: int(env, "GATEWAY_CAPACITY", 10_000, 1, 1_000_000),
      advertiseUrl: nonEmpty(env.GATEWAY_URL) === undefined ? undefined : url("GATEWAY_URL", nonEmpty(env.GATEWAY_URL)!).toString().replace(/\/$/, ""),
      rebalance: bool(env, "GATEWAY_REBALANCE", true),
    },
    tls: certFile && keyFile ? { certFile, keyFile } : undefined,
    jwt: jwksUrl
      ? {
          jwksUrl: url("JWKS_URL", jwksUrl),
          issuer: nonEmpty(env.JWT_ISSUER),
          audience: nonEmpty(env.JWT_AUDIENCE),
          orgClaim: nonEmpty(env.JWT_ORG_CLAIM) ?? "org_id",
          roleClaim: nonEmpty(env.JWT_ROLE_CLAIM) ?? "role",
          clockToleranceSec: int(env, "JWT_CLOCK_TOLERANCE_SEC", 5, 0, 300),
        }
      : undefined,
    apiKeyCacheTtlMs: int(env, "API_KEY_CACHE_TTL_MS", 10_000, 0, 3_600_000),
    authFailures: { limit: int(env, "AUTH_FAILURE_LIMIT", 100, 0, 1_000_000), windowMs: int(env, "AUTH_FAILURE_WINDOW_MS", 60_000, 1_000, 86_400_000) },
    gatewayId: nonEmpty(env.GATEWAY_ID) ?? `gw-${hostname().toLowerCase().replace(/[^a-z0-9-]/g, "-")}`,
    waWebSocketUrl: nonEmpty(env.WA_WEBSOCKET_URL) ?? "wss://web.whatsapp.com/ws/chat",
    whatsapp: {
      rootPublicKey: base64(env, "WA_ROOT_PUBLIC_KEY"),
      maxReconnects: int(env, "WA_MAX_RECONNECTS", 20, 0, 10_000),
      reconnectBaseMs: int(env, "WA_RECONNECT_BASE_MS", 1_000, 1, 600_000),
      reconnectMaxMs: int(env, "WA_RECONNECT_MAX_MS", 60_000, 1, 3_600_000),
      connectTimeoutMs: int(env, "WA_CONNECT_TIMEOUT_MS", 20_000, 100, 600_000),
      keepAliveMs: int(env, "WA_KEEPALIVE_MS", 30_000, 100, 600_000),
      qrTimeoutMs: nonEmpty(env.WA_QR_TIMEOUT_MS) === undefined ? undefined : int(env, "WA_QR_TIMEOUT_MS", 60_000, 100, 600_000),
      scanMs: int(env, "WA_SCAN_MS", 5_000, 100, 600_000),
      logLevel: level(env, "WA_LOG_LEVEL", "warn"),
      logRepeatWindowMs: int(env, "WA_LOG_REPEAT_WINDOW_MS", 60_000, 1_000, 86_400_000),
      shareAsyncStorage: oneOf(env, "WA_SHARE_ASYNC_STORAGE", ["auto", "on", "off"] as const, "auto"),
      keyCacheEntries: int(env, "WA_KEY_CACHE_ENTRIES", 1_000, 0, 1_000_000),
    },
    sessionDefaults: {
      autoRead: bool(env, "DEFAULT_AUTO_READ", false),
      presenceTyping: bool(env, "DEFAULT_PRESENCE_TYPING", true),
      ratePerMin: int(env, "DEFAULT_RATE_PER_MIN", 20, 1, 1000),
      ratePerHour: int(env, "DEFAULT_RATE_PER_HOUR", 600, 1, 100_000),
    },
    events: {
      retentionMs: int(env, "EVENTS_RETENTION_MS", 7 * 24 * 3_600_000, 60_000, 365 * 24 * 3_600_000),
      retentionCount: int(env, "EVENTS_RETENTION_COUNT", 1_000_000, 1, 1_000_000_000),
      subscriberBuffer: int(env, "EVENTS_SUBSCRIBER_BUFFER", 1_000, 1, 1_000_000),
      heartbeatMs: int(env, "EVENTS_HEARTBEAT_MS", 15_000, 100, 600_000),
      stallMs: int(env, "EVENTS_STALL_MS", 10_000, 10, 600_000),
      pollMs: int(env, "EVENTS_POLL_MS", 5_000, 50, 600_000),
      maxStreamsPerOrg: int(env, "EVENTS_MAX_STREAMS_PER_ORG", 1_000, 0, 1_000_000),
      maxStreamsPerCredential: int(env, "EVENTS_MAX_STREAMS_PER_CREDENTIAL", 100, 0, 1_000_000),
    },
    webhooks: {
      allowHttp: bool(env, "WEBHOOK_ALLOW_HTTP", false),
      allowPrivate: bool(env, "WEBHOOK_ALLOW_PRIVATE", false),
      timeoutMs: int(env, "WEBHOOK_TIMEOUT_MS", 15_000, 100, 600_000),
      retryScheduleMs: schedule(env, "WEBHOOK_RETRY_SCHEDULE_MS", [0, 5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000]),
      concurrency: int(env, "WEBHOOK_CONCURRENCY", 4, 1, 256),
      secretOverlapMs: int(env, "WEBHOOK_SECRET_OVERLAP_MS", 24 * 3_600_000, 0, 30 * 24 * 3_600_000),
      scanMs: int(env, "WEBHOOK_SCAN_MS", 5_000, 50, 600_000),
      maxPending: int(env, "WEBHOOK_MAX_PENDING", 1_000, 1, 1_000_000),
    },
    messages: {
      maxMediaBytes: int(env, "MAX_MEDIA_BYTES", 16 * 1024 * 1024, 1024, 2 * 1024 * 1024 * 1024),
      mediaFetchTimeoutMs: int(env, "MEDIA_FETCH_TIMEOUT_MS", 30_000, 100, 600_000),
      mediaAllowHttp: bool(env, "MEDIA_ALLOW_HTTP", false),
      mediaAllowPrivate: bool(env, "MEDIA_ALLOW_PRIVATE", false),
      expiryMs: int(env, nonEmpty(env.MESSAGE_TTL_MS) === undefined && nonEmpty(env.MESSAGE_EXPIRY_MS) !== undefined ? "MESSAGE_EXPIRY_MS" : "MESSAGE_TTL_MS", 4 * 3_600_000, 1_000, 7 * 24 * 3_600_000),
      expiryScanMs: int(env, "MESSAGE_EXPIRY_SCAN_MS", 10_000, 50, 3_600_000),
      idempotencyTtlMs: int(env, "IDEMPOTENCY_KEY_TTL_MS", 24 * 3_600_000, 60_000, 30 * 24 * 3_600_000),
      retentionMs: int(env, "MESSAGES_RETENTION_MS", 90 * 24 * 3_600_000, 60_000, 10 * 365 * 24 * 3_600_000),
      numberCheckTtlMs: int(env, "NUMBER_CHECK_TTL_MS", 7 * 24 * 3_600_000, 0, 365 * 24 * 3_600_000),
      outboxPollMs: int(env, "OUTBOX_POLL_MS", 5_000, 50, 600_000),
    },
    sending: sendingConfig(env),
    shutdownGraceMs: int(env, "SHUTDOWN_GRACE_MS", 10_000, 0, 600_000),
    trustedProxies: trustedProxies(env),
    logLevel: level(env, "LOG_LEVEL", "info"),
    http: {
      maxBodyBytes: int(env, "MAX_BODY_BYTES", 1024 * 1024, 1024, 64 * 1024 * 1024),
      corsOrigins: (nonEmpty(env.CORS_ORIGINS) ?? "").split(",").map((o) => o.trim()).filter((o) => o !== ""),
      sseHeartbeatMs: int(env, "SSE_HEARTBEAT_MS", 15_000, 100, 600_000),
    },
    console: { enabled: bool(env, "CONSOLE_ENABLED", true) },
  };
}

function trustedProxies(env: Env): TrustedProxies | undefined {
  const entries = (nonEmpty(env.TRUSTED_PROXIES) ?? "").split(/[\s,]+/).filter((e) => e !== "");
  if (entries.length === 0) return undefined;
  const parsed = parseTrustedProxies(entries);
  if ("bad" in parsed) throw new ConfigError(`TRUSTED_PROXIES: "${parsed.bad}" is not an IP address or CIDR (e.g. 10.0.0.0/8, fd00::/8)`);
  return parsed;
}

function sendingConfig(env: Env): Config["sending"] {
  const c: Config["sending"] = {
    minuteMs: int(env, "PACING_MINUTE_MS", 60_000, 100, 60_000),
    hourMs: int(env, "PACING_HOUR_MS", 3_600_000, 1_000, 3_600_000),
    windowMarginMs: int(env, "PACING_WINDOW_MARGIN_MS", 250, 0, 60_000),
    jitterMinMs: int(env, "SEND_JITTER_MIN_MS", 1_000, 0, 600_000),
    jitterMaxMs: int(env, "SEND_JITTER_MAX_MS", 3_000, 0, 600_000),
    rampMs: int(env, "PACING_RAMP_MS", 300_000, 0, 24 * 3_600_000),
    rampStartPercent: int(env, "PACING_RAMP_START_PERCENT", 25, 1, 100),
    typingMinMs: int(env, "TYPING_MIN_MS", 800, 0, 60_000),
    typingMsPerChar: int(env, "TYPING_MS_PER_CHAR", 40, 0, 10_000),
    typingMaxMs: int(env, "TYPING_MAX_MS", 6_000, 0, 60_000),
    reachoutHoldMs: int(env, "REACHOUT_TIMELOCK_HOLD_MS", 24 * 3_600_000, 1_000, 30 * 24 * 3_600_000),
  };
  if (c.jitterMaxMs < c.jitterMinMs) throw new ConfigError("SEND_JITTER_MAX_MS must be at least SEND_JITTER_MIN_MS");
  if (c.typingMaxMs < c.typingMinMs) throw new ConfigError("TYPING_MAX_MS must be at least TYPING_MIN_MS");
  if (c.hourMs < c.minuteMs) throw new ConfigError("PACING_HOUR_MS must be at least PACING_MINUTE_MS");
  return c;
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v.trim() === "" ? undefined : v.trim();
}

function int(env: Env, name: string, dflt: number, min: number, max: number): number {
  const raw = nonEmpty(env[name]);
  if (raw === undefined) return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new ConfigError(`${name} must be an integer in ${min}..${max}, got "${raw}"`);
  }
  return n;
}

function schedule(env: Env, name: string, dflt: number[]): number[] {
  const raw = nonEmpty(env[name]);
  if (raw === undefined) return dflt;
  const parts = raw.split(",").map((p) => Number(p.trim()));
  if (parts.length < 1 || parts.length > 50 || parts.some((n) => !Number.isInteger(n) || n < 0 || n > 7 * 24 * 3_600_000)) {
    throw new ConfigError(`${name} must be 1..50 comma-separated delays in ms (0..604800000), got "${raw}"`);
  }
  return parts;
}

function bool(env: Env, name: string, dflt: boolean): boolean {
  const raw = nonEmpty(env[name])?.toLowerCase();
  if (raw === undefined) return dflt;
  if (["1", "true", "yes", "on"].includes(raw)) return true;
  if (["0", "false", "no", "off"].includes(raw)) return false;
  throw new ConfigError(`${name} must be true or false, got "${raw}"`);
}

function level(env: Env, name: string, dflt: Config["logLevel"]): Config["logLevel"] {
  const raw = nonEmpty(env[name]) ?? dflt;
  if (!["debug", "info", "warn", "error"].includes(raw)) {
    throw new ConfigError(`${name} must be debug, info, warn or error, got "${raw}"`);
  }
  return raw as Config["logLevel"];
}

function oneOf<const T extends string>(env: Env, name: string, allowed: readonly T[], dflt: T): T {
  const raw = nonEmpty(env[name])?.toLowerCase() ?? dflt;
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new ConfigError(`${name} must be one of ${allowed.join(", ")}, got "${raw}"`);
  }
  return raw as T;
}

function base64(env: Env, name: string): Buffer | undefined {
  const raw = nonEmpty(env[name]);
  if (raw === undefined) return undefined;
  const buf = Buffer.from(raw, "base64");
  if (buf.length !== 32) throw new ConfigError(`${name} must be a base64 32-byte key`);
  return buf;
}

function url(name: string, raw: string): URL {
  try {
    return new URL(raw);
  } catch {
    throw new ConfigError(`${name} is not a URL: "${raw}"`);
  }
}
