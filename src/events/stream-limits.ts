import type { Principal } from "../auth/principal.js";
import { apiError } from "../errors/api-error.js";

/** Concurrent event streams allowed; 0 means unlimited. */
export interface StreamLimitSettings {
  /** Per organization (`EVENTS_MAX_STREAMS_PER_ORG`). */
  perOrganization: number;
  /** Per credential: one API key, or one user (`EVENTS_MAX_STREAMS_PER_CREDENTIAL`). */
  perCredential: number;
}

/** Counts open event streams and refuses one past a cap. */
export interface StreamLimits {
  /** Takes a slot for `principal`'s new stream, or throws `rate_limited` naming the limit; call the result once when the stream ends. */
  acquire(principal: Principal): () => void;
  /** Streams open now for an organization. */
  openFor(organizationId: string): number;
}

/** The credential a stream counts against: its API key, else its user. */
export function credentialOf(p: Principal): string {
  if (p.apiKeyId !== undefined) return `key:${p.apiKeyId}`;
  return `user:${p.organizationId}:${p.userId ?? ""}`;
}

/** Creates the process's {@link StreamLimits}. */
export function createStreamLimits(settings: StreamLimitSettings): StreamLimits {
  const byOrg = new Map<string, number>();
  const byCredential = new Map<string, number>();
  const dec = (m: Map<string, number>, k: string) => {
    const n = (m.get(k) ?? 1) - 1;
    if (n <= 0) m.delete(k);
    else m.set(k, n);
  };
  return {
    acquire(principal) {
      const org = principal.organizationId;
      const cred = credentialOf(principal);
      const o = byOrg.get(org) ?? 0;
      const c = byCredential.get(cred) ?? 0;
      if (settings.perCredential > 0 && c >= settings.perCredential) {
        throw apiError("rate_limited", `too many concurrent event streams for this credential: the limit is ${settings.perCredential} (EVENTS_MAX_STREAMS_PER_CREDENTIAL); close one first`, {
          metadata: { limit: "EVENTS_MAX_STREAMS_PER_CREDENTIAL", max: String(settings.perCredential) },
        });
      }
      if (settings.perOrganization > 0 && o >= settings.perOrganization) {
        throw apiError("rate_limited", `too many concurrent event streams for this organization: the limit is ${settings.perOrganization} (EVENTS_MAX_STREAMS_PER_ORG); close one first`, {
          metadata: { limit: "EVENTS_MAX_STREAMS_PER_ORG", max: String(settings.perOrganization) },
        });
      }
      byOrg.set(org, o + 1);
      byCredential.set(cred, c + 1);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        dec(byOrg, org);
        dec(byCredential, cred);
      };
    },
    openFor: (organizationId) => byOrg.get(organizationId) ?? 0,
  };
}
