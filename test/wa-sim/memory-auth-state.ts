import { initAuthCreds, type AuthenticationState, type SignalDataSet, type SignalDataTypeMap } from '@whiskeysockets/baileys';

type KeyType = keyof SignalDataTypeMap;

/** Baileys auth state kept in memory: fresh creds plus a minimal SignalKeyStore (test helper). */
export function makeMemoryAuthState(): AuthenticationState {
  const store = new Map<string, Map<string, unknown>>();
  const bucket = (type: string): Map<string, unknown> => {
    let b = store.get(type);
    if (!b) {
      b = new Map();
      store.set(type, b);
    }
    return b;
  };
  return {
    creds: initAuthCreds(),
    keys: {
      get<T extends KeyType>(type: T, ids: string[]): { [id: string]: SignalDataTypeMap[T] } {
        const b = bucket(type);
        const out: { [id: string]: SignalDataTypeMap[T] } = {};
        for (const id of ids) {
          const v = b.get(id);
          if (v !== undefined) out[id] = v as SignalDataTypeMap[T];
        }
        return out;
      },
      set(data: SignalDataSet): void {
        for (const [type, entries] of Object.entries(data)) {
          const b = bucket(type);
          for (const [id, value] of Object.entries(entries ?? {})) {
            if (value === null || value === undefined) b.delete(id);
            else b.set(id, value);
          }
        }
      },
      clear(): void {
        store.clear();
      },
    },
  };
}
