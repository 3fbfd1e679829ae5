/**
 * The bare baseline: `node:http` + `pg`, no framework. Serves the three REST
 * routes the bench calls with the gateway's SQL, auth look-up (cached) and
 * JSON. Run as a child process: `DATABASE_URL=… node --import tsx bench/peers/bare-server.ts`;
 * prints `{"msg":"ready","port":N}` on stderr.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import pg from "pg";
import { createKeyCache } from "./key-cache.js";
import { createSession, getSessionSql, listSessionsSql, type SessionRecord, sessionJson } from "./session-sql.js";

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 });
pool.on("error", () => {});
const authenticate = createKeyCache(pool);
const prefix = "/api/v1/sessions";

function send(res: http.ServerResponse, status: number, body: unknown): void {
  const json = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(json) });
  res.end(json);
}

async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const principal = await authenticate(req.headers.authorization);
  if (!principal) return send(res, 401, { error: { code: "unauthorized", message: "invalid bearer token", details: {} } });
  const url = req.url ?? "/";
  if (req.method === "GET" && url.startsWith(prefix + "/")) {
    const id = url.slice(prefix.length + 1).toUpperCase();
    const { rows } = await pool.query<SessionRecord>(getSessionSql, [principal.organizationId, id]);
    if (!rows[0]) return send(res, 404, { error: { code: "not_found", message: "session not found", details: {} } });
    return send(res, 200, sessionJson(rows[0]));
  }
  if (req.method === "GET" && url === prefix) {
    const { rows } = await pool.query<SessionRecord>(listSessionsSql, [principal.organizationId]);
    return send(res, 200, { sessions: rows.map(sessionJson), nextCursor: null });
  }
  if (req.method === "POST" && url === prefix) {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = JSON.parse(Buffer.concat(chunks).toString() || "{}") as { label?: string };
    return send(res, 201, sessionJson(await createSession(pool, principal.organizationId, body.label ?? null)));
  }
  send(res, 404, { error: { code: "not_found", message: "no route", details: {} } });
}

const server = http.createServer((req, res) => {
  handle(req, res).catch(() => send(res, 500, { error: { code: "internal", message: "internal error", details: {} } }));
});
server.listen(0, "127.0.0.1", () => {
  process.stderr.write(JSON.stringify({ msg: "ready", port: (server.address() as AddressInfo).port }) + "\n");
});
process.on("SIGTERM", () => server.close(() => void pool.end().then(() => process.exit(0))));
