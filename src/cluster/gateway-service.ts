import { create } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import { type Kysely, sql } from "kysely";
import { type GatewayService, GatewaySchema, ListGatewaysResponseSchema } from "../../gen/wagateway/v1/gateway_service_pb.js";
import type { Database } from "../db/schema.js";
import { principalOf } from "../auth/principal-context.js";
import type { Supervisor } from "../whatsapp/supervisor.js";

/**
 * ListGateways: every live gateway with its load. With PGlite there is one,
 * this process.
 */
export function createGatewayService(db: Kysely<Database>, engine: Supervisor, startedAt: Date, capacity: number): ServiceImpl<typeof GatewayService> {
  return {
    async listGateways(_req, ctx) {
      const org = principalOf(ctx).organizationId;
      const registry = engine.registry();
      if (!registry) {
        const local = engine.localSessions();
        const mine = local.length === 0 ? 0 : Number((await db.selectFrom("sessions").select((eb) => eb.fn.countAll<string>().as("n")).where("organization_id", "=", org).where("id", "in", local).executeTakeFirst())?.n ?? 0);
        return create(ListGatewaysResponseSchema, {
          gateways: [
            create(GatewaySchema, {
              id: engine.gatewayName,
              instance: engine.gatewayName,
              sessions: local.length,
              organizationSessions: mine,
              capacity,
              startedAt: BigInt(startedAt.getTime()),
              heartbeatAt: BigInt(Date.now()),
              current: true,
            }),
          ],
        });
      }
      const [live, perOrg] = await Promise.all([
        registry.live(),
        sql<{ holder: string; n: string }>`
          select l.holder, count(*) as n from session_leases l join sessions s on s.id = l.session_id
          where s.organization_id = ${org} and l.holder is not null group by l.holder`.execute(db),
      ]);
      const orgCounts = new Map(perOrg.rows.map((r) => [r.holder, Number(r.n)]));
      return create(ListGatewaysResponseSchema, {
        gateways: live.map((g) =>
          create(GatewaySchema, {
            id: g.name,
            instance: g.id,
            sessions: g.held,
            organizationSessions: orgCounts.get(g.id) ?? 0,
            capacity: g.capacity,
            draining: g.draining,
            startedAt: BigInt(g.startedAt.getTime()),
            heartbeatAt: BigInt(g.heartbeatAt.getTime()),
            current: g.id === registry.id(),
          }),
        ),
      });
    },
  };
}
