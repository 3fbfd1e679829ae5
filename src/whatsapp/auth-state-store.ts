import type { AuthenticationCreds, AuthenticationState, SignalDataSet, SignalDataTypeMap } from "@whiskeysockets/baileys";
import type { Kysely, Transaction } from "kysely";
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
 * Runs inside every auth-state write transaction before it writes; throws to
 * abort the write (lease fencing: a gateway that lost the session must not
 * overwrite the new holder's keys).
 */
export type WriteFence = (tx: Transaction<Database>) => Promise<void>;

type KeyRow = { session_id: string; type: string; key_id: string; value: string };

/**
 * Loads (or initializes) a session's auth state from `wa_auth_creds` /
 * `wa_auth_keys`. Writes are serialized per session and coalesced: while one
 * transaction runs, later `keys.set` calls merge into the next one (last
 * value per key wins, in call order), so a burst of Baileys updates costs a
 * few transactions, none is lost, and reads see every acknowledged write.
 * A write that meets a transient database error (outage, exhausted pool) is
 * retried in place, so later writes never overtake it.
 */
export async function loadAuthState(db: Kysely<Database>, sessionId: string, fence: WriteFence = async () => {}): Promise<DbAuthState> {
  const { initAuthCreds } = await loadBaileys();
  const row = await db.selectFrom("wa_auth_creds").select("creds").where("session_id", "=", sessionId).executeTakeFirst();
  const creds: AuthenticationCreds = row ? decodeAuthValue<AuthenticationCreds>(row.creds) : initAuthCreds();
  let chain: Promise<unknown> = Promise.resolve();
  const serialize = <T>(fn: () => Promise<T>): Promise<T> => {
    const next = chain.then(fn, fn);
    chain = next.catch(() => {});
    return next;
  };
  // Key writes not yet started: "type\0id" → encoded value (null = delete).
  let pending: Map<string, string | null> | undefined;
  let pendingWrite: Promise<void> | undefined;
  const writeKeys = (batch: Map<string, string | null>) =>
    retryTransient(() => db.transaction().execute(async (tx) => {
      await fence(tx);
      const upserts: KeyRow[] = [];
      const deletes = new Map<string, string[]>();
      for (const [key, value] of batch) {
        const [type, id] = key.split("\0") as [string, string];
        if (value === null) deletes.set(type, [...(deletes.get(type) ?? []), id]);
        else upserts.push({ session_id: sessionId, type, key_id: id, value });
      }
      for (let i = 0; i < upserts.length; i += 500) {
        await tx
          .insertInto("wa_auth_keys")
          .values(upserts.slice(i, i + 500))
          .onConflict((oc) => oc.columns(["session_id", "type", "key_id"]).doUpdateSet((eb) => ({ value: eb.ref("excluded.value") })))
          .execute();
      }
      for (const [type, ids] of deletes) {
        await tx.deleteFrom("wa_auth_keys").where("session_id", "=", sessionId).where("type", "=", type).where("key_id", "in", ids).execute();
      }
    }));

  const state: AuthenticationState = {
    creds,
    keys: {
      async get<T extends keyof SignalDataTypeMap>(type: T, ids: string[]) {
        const out: { [id: string]: SignalDataTypeMap[T] } = {};
        if (ids.length === 0) return out;
        await chain; // read your own writes
        const rows = await db
          .selectFrom("wa_auth_keys")
          .select(["key_id", "value"])
          .where("session_id", "=", sessionId)
          .where("type", "=", type)
          .where("key_id", "in", ids)
          .execute();
        for (const r of rows) out[r.key_id] = decodeAuthValue<SignalDataTypeMap[T]>(r.value);
        return out;
      },
      set(data: SignalDataSet) {
        if (!pending) {
          const batch = new Map<string, string | null>();
          pending = batch;
          pendingWrite = serialize(() => {
            if (pending === batch) pending = undefined;
            return writeKeys(batch);
          });
        }
        for (const [type, entries] of Object.entries(data)) {
          for (const [id, value] of Object.entries(entries ?? {})) {
            pending.set(`${type}\0${id}`, value === null || value === undefined ? null : encodeAuthValue(value));
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

/** Removes a session's auth state (logout). */
export async function wipeAuthState(db: Kysely<Database>, sessionId: string, fence: WriteFence = async () => {}): Promise<void> {
  await db.transaction().execute(async (tx) => {
    await fence(tx);
    await tx.deleteFrom("wa_auth_keys").where("session_id", "=", sessionId).execute();
    await tx.deleteFrom("wa_auth_creds").where("session_id", "=", sessionId).execute();
  });
}
