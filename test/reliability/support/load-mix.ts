import type { Client } from "@connectrpc/connect";
import { ConnectError } from "@connectrpc/connect";
import { SessionService } from "../../../gen/wagateway/v1/session_service_pb.js";
import { clientFor, transportCases } from "../../support/transports.js";

/** What a load run did. */
export interface LoadTally {
  requests: number;
  /** Failed calls: thrown errors, non-2xx REST answers, wrong bodies. */
  errors: number;
  /** 5xx answers (REST) or internal/unknown/unavailable codes (RPC). */
  serverErrors: number;
  /** Acknowledged creates (ids), for consistency checks. */
  created: string[];
  /** First few failures, for the assertion message. */
  samples: string[];
  /** Calls per protocol. */
  byProtocol: Record<string, number>;
}

type Call = (kind: "get" | "list" | "create") => Promise<string | undefined>;

/** The API keys of a load run: `read` owns `sessionIds`; `write` (another organization) receives the creates. */
export interface LoadKeys {
  read: string;
  write: string;
}

/**
 * Runs `clients` concurrent loops for `seconds` against `baseUrl`; each call
 * picks the next protocol (REST and every transport in transports.ts) and a
 * mix of 70 % GetSession, 20 % ListSessions, 10 % CreateSession. Creates go
 * to the `write` key's organization, so the sessions read (and the size of
 * each ListSessions answer) stay the same from the first second to the last.
 */
export async function runMixedLoad(baseUrl: string, keys: LoadKeys, sessionIds: string[], clients: number, seconds: number): Promise<LoadTally> {
  const tally: LoadTally = { requests: 0, errors: 0, serverErrors: 0, created: [], samples: [], byProtocol: {} };
  const rpc = transportCases.map((tc) => ({
    name: tc.name,
    reader: clientFor(SessionService, tc, baseUrl, keys.read) as Client<typeof SessionService>,
    writer: clientFor(SessionService, tc, baseUrl, keys.write) as Client<typeof SessionService>,
  }));
  const pickId = () => sessionIds[Math.floor(Math.random() * sessionIds.length)]!;
  const protocols: { name: string; call: Call }[] = [
    { name: "REST", call: (kind) => restCall(baseUrl, kind === "create" ? keys.write : keys.read, kind, pickId) },
    ...rpc.map(({ name, reader: client, writer }) => ({
      name,
      call: async (kind: "get" | "list" | "create") => {
        if (kind === "get") {
          const id = pickId();
          const r = await client.getSession({ session: id });
          if (r.session?.id !== id) throw new Error(`GetSession returned ${r.session?.id}`);
          return undefined;
        }
        if (kind === "list") {
          const r = await client.listSessions({});
          if (r.sessions.length !== sessionIds.length) throw new Error(`ListSessions returned ${r.sessions.length} sessions`);
          return undefined;
        }
        return (await writer.createSession({ label: "load" })).session?.id;
      },
    })),
  ];
  const deadline = Date.now() + seconds * 1000;
  let turn = 0;
  const loop = async () => {
    while (Date.now() < deadline) {
      const p = protocols[turn++ % protocols.length]!;
      const x = Math.random();
      const kind = x < 0.7 ? "get" : x < 0.9 ? "list" : "create";
      tally.requests++;
      tally.byProtocol[p.name] = (tally.byProtocol[p.name] ?? 0) + 1;
      try {
        const id = await p.call(kind);
        if (id) tally.created.push(id);
      } catch (err) {
        tally.errors++;
        if (isServerError(err)) tally.serverErrors++;
        if (tally.samples.length < 5) tally.samples.push(`${p.name} ${kind}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  };
  await Promise.all(Array.from({ length: clients }, loop));
  return tally;
}

class HttpStatusError extends Error {
  constructor(readonly status: number, body: string) {
    super(`HTTP ${status}: ${body.slice(0, 200)}`);
  }
}

function isServerError(err: unknown): boolean {
  if (err instanceof HttpStatusError) return err.status >= 500;
  if (err instanceof ConnectError) return [2, 13, 14, 15].includes(err.code); // unknown, internal, unavailable, data_loss
  return true;
}

async function restCall(baseUrl: string, key: string, kind: "get" | "list" | "create", pickId: () => string): Promise<string | undefined> {
  const headers = { authorization: `Bearer ${key}`, "content-type": "application/json" };
  const id = kind === "get" ? pickId() : "";
  const res =
    kind === "get"
      ? await fetch(`${baseUrl}/api/v1/sessions/${id}`, { headers })
      : kind === "list"
        ? await fetch(`${baseUrl}/api/v1/sessions`, { headers })
        : await fetch(`${baseUrl}/api/v1/sessions`, { method: "POST", headers, body: '{"label":"load"}' });
  const text = await res.text();
  if (res.status !== (kind === "create" ? 201 : 200)) throw new HttpStatusError(res.status, text);
  const body = JSON.parse(text) as { id?: string; sessions?: unknown[] };
  if (kind === "get" && body.id !== id) throw new Error(`REST get returned ${body.id}`);
  return kind === "create" ? body.id : undefined;
}
