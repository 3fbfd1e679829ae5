import { create } from "@bufbuild/protobuf";
import type { ConnectRouter, HandlerContext } from "@connectrpc/connect";
import {
  Health,
  type HealthCheckRequest,
  type HealthCheckResponse,
  HealthCheckResponseSchema,
  HealthCheckResponse_ServingStatus as ServingStatus,
} from "../../gen/grpc/health/v1/health_pb.js";
import { apiError } from "../errors/api-error.js";
import type { DatabaseProbe } from "./database-probe.js";

/** Options of {@link registerHealth}. */
export interface HealthOptions {
  probe: DatabaseProbe;
  /** Service names health answers for besides `""` (the whole server); read at each call. */
  services: () => Iterable<string>;
  /** How often a Watch re-checks. Default 5 s. */
  watchIntervalMs?: number;
}

/** The registered health service; `close()` reports NOT_SERVING and ends every Watch. */
export interface HealthHandle {
  close(): void;
}

/**
 * Registers `grpc.health.v1.Health` on `router`: SERVING while the database
 * answers, NOT_SERVING while it does not or once the gateway shuts down.
 * Check of an unknown service is `not_found`; Watch reports it as
 * SERVICE_UNKNOWN, as the protocol says.
 */
export function registerHealth(router: ConnectRouter, opts: HealthOptions): HealthHandle {
  const intervalMs = opts.watchIntervalMs ?? 5_000;
  const closing = new AbortController();
  const known = (service: string) => service === "" || [...opts.services()].includes(service);
  const status = async (service: string): Promise<ServingStatus> => {
    if (!known(service)) return ServingStatus.SERVICE_UNKNOWN;
    if (closing.signal.aborted) return ServingStatus.NOT_SERVING;
    const db = await opts.probe.check();
    return db.reachable && db.migrated ? ServingStatus.SERVING : ServingStatus.NOT_SERVING;
  };
  const answer = (s: ServingStatus): HealthCheckResponse => create(HealthCheckResponseSchema, { status: s });

  router.service(Health, {
    async check(req: HealthCheckRequest) {
      const s = await status(req.service);
      if (s === ServingStatus.SERVICE_UNKNOWN) throw apiError("not_found", `unknown service "${req.service}"`);
      return answer(s);
    },
    async *watch(req: HealthCheckRequest, ctx: HandlerContext) {
      const stop = AbortSignal.any([ctx.signal, closing.signal]);
      let last: ServingStatus | undefined;
      for (;;) {
        const s = await status(req.service);
        if (s !== last) yield answer(s);
        last = s;
        if (stop.aborted) return;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(done, intervalMs);
          function done() {
            clearTimeout(timer);
            stop.removeEventListener("abort", done);
            resolve();
          }
          stop.addEventListener("abort", done);
        });
        if (ctx.signal.aborted) return;
      }
    },
  });
  return { close: () => closing.abort() };
}
