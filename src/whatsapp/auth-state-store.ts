import type { AuthenticationCreds, AuthenticationState, SignalDataSet, SignalDataTypeMap } from "@whiskeysockets/baileys";
import { type Kysely, sql } from "kysely";
import { LeaseLostError } from "../cluster/lease-lost-error.js";
import { type LeaseFence, unfenced } from "../cluster/session-leases.js";
import { retryTransient } from "../db/database-unavailable.js";
import type { Database } from "../db/schema.js";
import { baileys, loadBaileys } from "./baileys.js";

/** A session's Baileys auth state backed by the database, plus persistence hooks. */
export interface DbAuthState {
  state: AuthenticationState;
  /** Persists the current creds (call on `creds.update`). */
  saveCreds(): Promise<void>;
  /** True when the creds belong to a paired device. */
  isPaired(): boolean;
  /** Waits for every pending write. */
  flush(): Promise<void>;
}

/** Serializes a value losslessly (Buffers as base64) for storage (Baileys' BufferJSON: {@link loadAuthState} loads it). */
export function encodeAuthValue(value: unknown): string {
  return JSON.stringify(value, baileys().BufferJSON.replacer);
}

/** Inverse of {@link encodeAuthValue}. */
export function decodeAuthValue<T>(text: string): T {
  return JSON.parse(text, baileys().BufferJSON.reviver) as T;
}

/**
 * Guards every auth-state write (lease fencing: a gateway that lost the
 * session must not overwrite the new holder's keys): run first in the creds'
 * write transaction, and as the `rows` condition inside each key write's one
 * statement.
 */
export type WriteFence = LeaseFence;

/** Options of {@link loadAuthState}. */
export interface AuthStateOptions {
  /**
   * Keys kept in memory, least recently used dropped first (0: none). Every
   * write goes through this store and is fenced, so while the lease is held
   * the memory agrees with the database; a refused write clears it.
   */
  cacheEntries?: number;
}

/**
 * Loads (or initializes) a session's auth state from `wa_auth_creds` /
 * `wa_auth_keys`. Writes are serialized per session and coalesced: while one
 * write runs, later `keys.set` calls merge into the next one (last value per
 * key wins, in call order), so a burst of Baileys updates costs a few
 * statements, none is lost, and reads see every acknowledged write. Each key
 * write is one fenced statement: one round trip, no transaction.
 * A write that meets a transient database error (outage, exhausted pool) is
 * retried in place, so later writes never overtake it.
 *
 * Reads are served from memory where possible: every key read or written
 * (and every key found absent) is remembered, up to `cacheEntries`, so the
 * holder's hot keys (the Signal sessions and tokens each send looks up) cost
 * no database round trip and no decoding.
 */
export async function loadAuthState(db: Kysely<Database>, sessionId: string, fence: WriteFence = unfenced, opts: AuthStateOptions = {}): Promise<DbAuthState> {
  const { initAuthCreds } = await loadBaileys();
  const row = await db.selectFrom("wa_auth_creds").select("creds").where("session_id", "=", sessionId).executeTakeFirst();
  const creds: AuthenticationCreds = row ? decodeAuthValue<AuthenticationCreds>(row.creds) : initAuthCreds();
  let chain: Promise<unknown> = Promise.resolve();
  const serialize = <T>(fn: () => Promise<T>): Promise<T> => {
    const next = chain.then(fn, fn);
    chain = next.catch(() => {});
    return next;
  };
  const cache = new KeyCache(opts.cacheEntries ?? 0);
  /** A write failed for good (e.g. the lease is lost): memory may be ahead of the database, so forget it. */
  const forgetOnFailure = <T>(p: Promise<T>): Promise<T> => {
    p.catch(() => cache.clear());
    return p;
  };
  // Key writes not yet started: "type\0id" → encoded value (null = delete).
  let pending: Map<string, string | null> | undefined;
  let pendingWrite: Promise<void> | undefined;
  /**
   * Writes a batch in one statement: upserts and deletes happen only when
   * the fence's query yields its row (the lease is current), and the
   * statement says whether it did.
   */
  const keysStatement = (batch: Map<string, string | null>) => {
    const up = { type: [] as string[], id: [] as string[], value: [] as string[] };
    const del = { type: [] as string[], id: [] as string[] };
    for (const [key, value] of batch) {
      const [type, id] = key.split("\0") as [string, string];
      const to = value === null ? del : up;
      to.type.push(type);
      to.id.push(id);
      if (value !== null) up.value.push(value);
    }
    return sql<{ held: number }>`
      with lease as (${fence.rows}),
      up as (
        insert into wa_auth_keys (session_id, type, key_id, value)
        select ${sessionId}, u.type, u.key_id, u.value from unnest(${up.type}::text[], ${up.id}::text[], ${up.value}::text[]) as u (type, key_id, value), lease
        on conflict (session_id, type, key_id) do update set value = excluded.value
        returning 1
      ),
      del as (
        delete from wa_auth_keys k using unnest(${del.type}::text[], ${del.id}::text[]) as d (type, key_id), lease
        where k.session_id = ${sessionId} and k.type = d.type and k.key_id = d.key_id
        returning 1
      )
      select count(*)::int as held from lease`.execute(db);
  };
  const writeKeys = (batch: Map<string, string | null>) =>
    retryTransient(async () => {
      const { rows } = await keysStatement(batch);
      if (Number(rows[0]?.held) !== 1) throw new LeaseLostError(sessionId);
    });

  const state: AuthenticationState = {
    creds,
    keys: {
      async get<T extends keyof SignalDataTypeMap>(type: T, ids: string[]) {
        const out: { [id: string]: SignalDataTypeMap[T] } = {};
        const missing: string[] = [];
        for (const id of ids) {
          const known = cache.get(`${type}\0${id}`);
          if (known === undefined) missing.push(id);
          else if (known !== absent) out[id] = known as SignalDataTypeMap[T];
        }
        if (missing.length === 0) return out;
        const read = cache.startRead();
        try {
          await chain; // read your own writes
          const rows = await db
            .selectFrom("wa_auth_keys")
            .select(["key_id", "value"])
            .where("session_id", "=", sessionId)
            .where("type", "=", type)
            .where("key_id", "in", missing)
            .execute();
          const found = new Map(rows.map((r) => [r.key_id, decodeAuthValue<SignalDataTypeMap[T]>(r.value)]));
          for (const id of missing) {
            const key = `${type}\0${id}`;
            // A key set while this read ran: the value set is newer than the row read.
            const value = read.changed.has(key) ? read.changed.get(key) : found.get(id);
            if (!read.changed.has(key)) cache.fill(key, value ?? absent);
            if (value !== undefined && value !== absent) out[id] = value as SignalDataTypeMap[T];
          }
        } finally {
          cache.endRead(read);
        }
        return out;
      },
      set(data: SignalDataSet) {
        if (!pending) {
          const batch = new Map<string, string | null>();
          pending = batch;
          pendingWrite = forgetOnFailure(
            serialize(() => {
              if (pending === batch) pending = undefined;
              return writeKeys(batch);
            }),
          );
        }
        for (const [type, entries] of Object.entries(data)) {
          for (const [id, value] of Object.entries(entries ?? {})) {
            const key = `${type}\0${id}`;
            const gone = value === null || value === undefined;
            cache.set(key, gone ? absent : value);
            pending.set(key, gone ? null : encodeAuthValue(value));
          }
        }
        return pendingWrite!;
      },
    },
  };

  return {
    state,
    saveCreds() {
      const text = encodeAuthValue(state.creds);
      return serialize(() =>
        retryTransient(() =>
          db.transaction().execute(async (tx) => {
            await fence(tx);
            await tx
              .insertInto("wa_auth_creds")
              .values({ session_id: sessionId, creds: text, updated_at: new Date() })
              .onConflict((oc) => oc.column("session_id").doUpdateSet({ creds: text, updated_at: new Date() }))
              .execute();
          }),
        ),
      ).then(() => {});
    },
    isPaired: () => Boolean(state.creds.me?.id),
    flush: () => chain.then(() => {}),
  };
}

/** A key known not to exist. */
const absent = Symbol("absent");

/** A database read in flight, and the keys set while it ran (with their latest values). */
interface KeyRead {
  changed: Map<string, unknown>;
}

/**
 * The holder's keys in memory ("type\0id" → value, or {@link absent}),
 * least recently used first in iteration order.
 */
class KeyCache {
  private readonly entries = new Map<string, unknown>();
  private readonly reads = new Set<KeyRead>();

  constructor(private readonly capacity: number) {}

  get(key: string): unknown {
    const value = this.entries.get(key);
    if (value !== undefined) {
      this.entries.delete(key);
      this.entries.set(key, value);
    }
    return value;
  }

  /** A value set by the holder (newer than any read in flight). */
  set(key: string, value: unknown): void {
    for (const r of this.reads) r.changed.set(key, value);
    this.fill(key, value);
  }

  /** A value as the database holds it. */
  fill(key: string, value: unknown): void {
    if (this.capacity <= 0) return;
    this.entries.delete(key);
    this.entries.set(key, value);
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value!);
  }

  clear(): void {
    this.entries.clear();
  }

  startRead(): KeyRead {
    const read = { changed: new Map<string, unknown>() };
    this.reads.add(read);
    return read;
  }

  endRead(read: KeyRead): void {
    this.reads.delete(read);
  }
}

/** Removes a session's auth state (logout). */
export async function wipeAuthState(db: Kysely<Database>, sessionId: string, fence: WriteFence = unfenced): Promise<void> {
  await db.transaction().execute(async (tx) => {
    await fence(tx);
    await tx.deleteFrom("wa_auth_keys").where("session_id", "=", sessionId).execute();
    await tx.deleteFrom("wa_auth_creds").where("session_id", "=", sessionId).execute();
  });
}
