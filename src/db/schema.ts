import type { ColumnType, Generated, Insertable, Selectable, Updateable } from "kysely";

/** A timestamptz column: read as Date, written as Date. */
type Timestamp = ColumnType<Date, Date, Date>;

/** `organizations`: tenants. Sessions and keys belong to exactly one. */
export interface OrganizationsTable {
  id: string;
  name: string;
  created_at: Timestamp;
}

/** `sessions`: one row per WhatsApp number slot. */
export interface SessionsTable {
  id: string;
  organization_id: string;
  label: string | null;
  /** `stopped` | `starting` | `scan_qr_code` | `working` | `failed`. */
  status: string;
  status_reason: string | null;
  /** Cause of the latest failed connection attempt or lost connection (migration 0007); null once connected. */
  last_error: ColumnType<string | null, string | null | undefined, string | null>;
  /** `running` when the session should be connected, else `stopped`. */
  desired_state: string;
  auto_read: boolean;
  presence_typing: boolean;
  rate_per_min: number;
  rate_per_hour: number;
  phone_number: string | null;
  wa_jid: string | null;
  wa_lid: string | null;
  gateway_id: string | null;
  is_admin_session: boolean;
  created_by_user_id: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
  last_connected_at: Timestamp | null;
  /** WhatsApp's restriction on the number (`reachout_timelock`), if any. */
  restriction_reason: string | null;
  restriction_since: Timestamp | null;
  /** When the restriction ends: WhatsApp's time when `restriction_until_known`, else the gateway's estimate. */
  restriction_until: Timestamp | null;
  restriction_until_known: ColumnType<boolean, boolean | undefined, boolean>;
  /** Our id of the message WhatsApp refused. */
  restriction_message_id: string | null;
}

/** `api_keys`: hashed bearer secrets with the permissions they carry. */
export interface ApiKeysTable {
  id: string;
  organization_id: string;
  name: string;
  /** SHA-256 of the whole secret, hex. */
  key_hash: string;
  prefix: string;
  /** Subset of `manage`, `read`. */
  permissions: string[];
  created_by_user_id: string | null;
  created_at: Timestamp;
  last_used_at: Timestamp | null;
  revoked_at: Timestamp | null;
}

/** `events`: the append-only event log, id monotonic in commit order. */
export interface EventsTable {
  /** bigserial; `pg` returns int8 as a string, PGlite as a number. */
  id: ColumnType<string | number, never, never>;
  organization_id: string;
  session_id: string;
  type: string;
  data: ColumnType<Record<string, unknown>, string, string>;
  occurred_at: ColumnType<Date, Date | undefined, never>;
}

/** `event_log_state`: one row, the retention horizon. */
export interface EventLogStateTable {
  singleton: ColumnType<boolean, never, never>;
  pruned_through: ColumnType<string | number, string, string>;
}

/** `wa_auth_creds`: a session's Baileys creds (BufferJSON text). */
export interface WaAuthCredsTable {
  session_id: string;
  creds: string;
  updated_at: Timestamp;
}

/** `wa_auth_keys`: a session's Signal keys (BufferJSON text), by type and id. */
export interface WaAuthKeysTable {
  session_id: string;
  type: string;
  key_id: string;
  value: string;
}

/** `gateways`: one row per live (or recently live) gateway process. */
export interface GatewaysTable {
  /** Incarnation id: the name plus a per-start suffix. */
  id: string;
  /** `GATEWAY_ID`, shown as a session's `gatewayId`. */
  name: string;
  /** Second key of the advisory lock the process holds while it lives. */
  lock_no: ColumnType<number, never, never>;
  /** Base URL other gateways call for holder-only RPCs. */
  address: string | null;
  capacity: number;
  draining: ColumnType<boolean, boolean | undefined, boolean>;
  started_at: ColumnType<Date, Date | undefined, never>;
  heartbeat_at: ColumnType<Date, Date | undefined, Date>;
  expires_at: Timestamp;
}

/** `session_leases`: the holder of each session's socket, fenced by `epoch`. */
export interface SessionLeasesTable {
  session_id: string;
  /** A `gateways.id`, or null when released. */
  holder: string | null;
  /** bigint; grows on every take-over. */
  epoch: ColumnType<string | number, string | number, string | number>;
  acquired_at: ColumnType<Date, Date | undefined, Date>;
}

/** `cluster_secret`: one row, the key for gateway-to-gateway calls. */
export interface ClusterSecretTable {
  singleton: ColumnType<boolean, boolean | undefined, never>;
  secret: string;
}

/** `webhooks`: an organization's webhook endpoints, with their delivery cursor and lease. */
export interface WebhooksTable {
  id: string;
  organization_id: string;
  url: string;
  event_types: string[];
  sessions: string[];
  description: string | null;
  enabled: boolean;
  /** `gone` | `failing` when the gateway disabled it. */
  disabled_reason: string | null;
  /** `whsec_…`. */
  secret: string;
  previous_secret: string | null;
  previous_secret_until: Timestamp | null;
  /** bigint: the highest event id taken from the log. */
  cursor: ColumnType<string | number, string, string>;
  lease_holder: string | null;
  lease_epoch: ColumnType<string | number, string | number | undefined, string | number>;
  created_at: Timestamp;
  updated_at: Timestamp;
}

/** `webhook_pending`: events an endpoint still owes its receiver. */
export interface WebhookPendingTable {
  organization_id: string;
  webhook_id: string;
  event_id: ColumnType<string | number, string, string>;
  attempts: ColumnType<number, number | undefined, number>;
  next_attempt_at: Timestamp;
}

/** `webhook_attempts`: one row per delivery attempt. */
export interface WebhookAttemptsTable {
  /** ULID: sorts by time. */
  id: string;
  organization_id: string;
  webhook_id: string;
  event_id: string;
  event_type: string;
  attempt: number;
  /** `succeeded` | `failed`. */
  outcome: string;
  http_status: number | null;
  error: string | null;
  duration_ms: number;
  attempted_at: Timestamp;
}

/** `messages`: the outbox and history of every session (see migration 0005). */
export interface MessagesTable {
  /** ULID. */
  id: string;
  /** bigserial: outbox order and listing tie-break. */
  seq: ColumnType<string | number, never, never>;
  organization_id: string;
  session_id: string;
  wa_message_id: string;
  /** `out` | `in`. */
  direction: string;
  /** `api` | `phone` | `contact`. */
  source: string;
  chat_id: string;
  contact_phone: string | null;
  contact_lid: string | null;
  contact_push_name: string | null;
  /** `text`, `image`, ... (MessageType words). */
  type: string;
  /** The content in the contract's JSON shape (no bytes). */
  content: ColumnType<Record<string, unknown>, string, string>;
  /** Inline bytes of an outbound media message until it is sent. */
  media_data: Uint8Array | null;
  /** Baileys' WAMessage, BufferJSON text. */
  wa_message: string | null;
  /** Our id of the message replied to. */
  reply_to: string | null;
  /** Mentioned JIDs. */
  mentions: ColumnType<string[], string | undefined, string>;
  status: string;
  status_reason: string | null;
  idempotency_key: string | null;
  request_hash: string | null;
  created_at: Timestamp;
  sent_at: Timestamp | null;
  delivered_at: Timestamp | null;
  read_at: Timestamp | null;
  not_before: Timestamp | null;
  expires_at: Timestamp | null;
  updated_at: Timestamp;
}

/** `number_checks`: cached CheckNumbers answers per organization and phone. */
export interface NumberChecksTable {
  organization_id: string;
  phone: string;
  exists: boolean;
  jid: string | null;
  lid: string | null;
  checked_at: Timestamp;
}

/** The whole database, as Kysely sees it. */
export interface Database {
  organizations: OrganizationsTable;
  sessions: SessionsTable;
  api_keys: ApiKeysTable;
  events: EventsTable;
  event_log_state: EventLogStateTable;
  wa_auth_creds: WaAuthCredsTable;
  wa_auth_keys: WaAuthKeysTable;
  gateways: GatewaysTable;
  session_leases: SessionLeasesTable;
  cluster_secret: ClusterSecretTable;
  webhooks: WebhooksTable;
  webhook_pending: WebhookPendingTable;
  webhook_attempts: WebhookAttemptsTable;
  messages: MessagesTable;
  number_checks: NumberChecksTable;
}

/** A `sessions` row as read. */
export type SessionRow = Selectable<SessionsTable>;
/** A `sessions` row to insert. */
export type NewSessionRow = Insertable<SessionsTable>;
/** A partial `sessions` update. */
export type SessionUpdate = Updateable<SessionsTable>;
/** An `events` row as read. */
export type EventRow = Selectable<EventsTable>;
/** An `api_keys` row as read. */
export type ApiKeyRow = Selectable<ApiKeysTable>;
/** A `webhooks` row as read. */
export type WebhookRow = Selectable<WebhooksTable>;
/** A `webhook_attempts` row as read. */
export type WebhookAttemptRow = Selectable<WebhookAttemptsTable>;
/** A `messages` row as read. */
export type MessageRow = Selectable<MessagesTable>;
/** A `messages` row to insert. */
export type NewMessageRow = Insertable<MessagesTable>;
/** Marker kept for future generated columns. */
export type { Generated };
