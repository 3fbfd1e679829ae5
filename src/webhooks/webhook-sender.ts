import http from "node:http";
import https from "node:https";
import { isIP } from "node:net";
import { BlockedAddressError, guardedLookup, hostOf, isPrivateAddress, type UrlPolicy } from "./url-guard.js";

/** One signed POST to send. */
export interface WebhookRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
}

/** What came of one POST. */
export interface SendResult {
  /** The receiver's status; undefined when no response came. */
  status: number | undefined;
  /** `Retry-After` in milliseconds, when the receiver sent one. */
  retryAfterMs: number | undefined;
  /** Why it failed (not set for a 2xx). */
  error: string | undefined;
  /** `succeeded`, `http_error`, `timeout`, `network_error` or `blocked` (metrics label). */
  kind: "succeeded" | "http_error" | "timeout" | "network_error" | "blocked";
  durationMs: number;
}

/** Sends webhook POSTs: one keep-alive agent per endpoint, every new connection to a checked address. */
export interface WebhookSender {
  send(endpointId: string, req: WebhookRequest, concurrency: number): Promise<SendResult>;
  /** Drops an endpoint's idle connections. */
  forget(endpointId: string): void;
  close(): void;
}

const maxResponseBytes = 64 * 1024;

/** Creates a {@link WebhookSender} for `policy` with a per-request `timeoutMs`. */
export function createWebhookSender(policy: UrlPolicy, timeoutMs: number): WebhookSender {
  const lookup = guardedLookup(policy);
  const agents = new Map<string, { http: http.Agent; https: https.Agent }>();
  const agentsOf = (id: string, concurrency: number) => {
    let a = agents.get(id);
    if (!a) {
      const opts = { keepAlive: true, maxSockets: concurrency, maxFreeSockets: concurrency, lookup };
      a = { http: new http.Agent(opts), https: new https.Agent(opts) };
      agents.set(id, a);
    }
    return a;
  };
  return {
    send(endpointId, req, concurrency) {
      const started = performance.now();
      const result = (r: Omit<SendResult, "durationMs">): SendResult => ({ ...r, durationMs: Math.round(performance.now() - started) });
      let url: URL;
      try {
        url = new URL(req.url);
      } catch {
        return Promise.resolve(result({ status: undefined, retryAfterMs: undefined, error: "invalid URL", kind: "network_error" }));
      }
      const host = hostOf(url);
      // An IP literal skips `lookup`: check it here.
      if (isIP(host) !== 0 && !policy.allowPrivate && isPrivateAddress(host)) {
        return Promise.resolve(result({ status: undefined, retryAfterMs: undefined, error: `${host} is an address webhooks may not reach`, kind: "blocked" }));
      }
      const secure = url.protocol === "https:";
      if (!secure && !(url.protocol === "http:" && policy.allowHttp)) {
        return Promise.resolve(result({ status: undefined, retryAfterMs: undefined, error: `${url.protocol} URLs are not allowed`, kind: "blocked" }));
      }
      const agent = agentsOf(endpointId, concurrency)[secure ? "https" : "http"];
      const mod = secure ? https : http;
      return new Promise<SendResult>((resolve) => {
        let settled = false;
        const finish = (r: Omit<SendResult, "durationMs">) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          resolve(result(r));
        };
        const request = mod.request(
          url,
          {
            method: "POST",
            agent,
            headers: { ...req.headers, "content-type": "application/json", "content-length": Buffer.byteLength(req.body), "user-agent": "wa-gateway-webhooks/1" },
          },
          (res) => {
            const status = res.statusCode ?? 0;
            const retryAfterMs = parseRetryAfter(res.headers["retry-after"]);
            let read = 0;
            res.on("data", (chunk: Buffer) => {
              read += chunk.length;
              if (read > maxResponseBytes) res.destroy();
            });
            const done = () => {
              const ok = status >= 200 && status < 300;
              finish({ status, retryAfterMs, error: ok ? undefined : `HTTP ${status}`, kind: ok ? "succeeded" : "http_error" });
            };
            res.on("end", done);
            res.on("close", done);
            res.on("error", done);
          },
        );
        const timer = setTimeout(() => {
          finish({ status: undefined, retryAfterMs: undefined, error: `no response within ${timeoutMs} ms`, kind: "timeout" });
          request.destroy();
        }, timeoutMs);
        request.on("error", (err: NodeJS.ErrnoException) => {
          const blockedErr = err instanceof BlockedAddressError || err.code === "EWEBHOOKBLOCKED";
          finish({
            status: undefined,
            retryAfterMs: undefined,
            error: blockedErr ? err.message : `${err.code ?? "error"}: ${err.message}`,
            kind: blockedErr ? "blocked" : "network_error",
          });
        });
        request.end(req.body);
      });
    },
    forget(endpointId) {
      const a = agents.get(endpointId);
      if (a) {
        a.http.destroy();
        a.https.destroy();
        agents.delete(endpointId);
      }
    },
    close() {
      for (const id of [...agents.keys()]) this.forget(id);
    },
  };
}

/** `Retry-After` (delta seconds or an HTTP date) in milliseconds; undefined when absent or unreadable. */
export function parseRetryAfter(v: string | string[] | undefined): number | undefined {
  const raw = Array.isArray(v) ? v[0] : v;
  if (raw === undefined || raw.trim() === "") return undefined;
  if (/^\d+$/.test(raw.trim())) return Number(raw.trim()) * 1000;
  const at = Date.parse(raw);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}
