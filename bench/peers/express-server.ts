/**
 * The peer reference: Express 5 + `pg`, the stack most gateways are built on.
 * Same routes, SQL, cached key look-up and JSON as the bare baseline. Run as a
 * child process; prints `{"msg":"ready","port":N}` on stderr.
 */
import type { AddressInfo } from "node:net";
import express from "express";
import pg from "pg";
import { createKeyCache, type PeerPrincipal } from "./key-cache.js";
import { createSession, getSessionSql, listSessionsSql, type SessionRecord, sessionJson } from "./session-sql.js";

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 });
pool.on("error", () => {});
const authenticate = createKeyCache(pool);
const app = express();
app.disable("x-powered-by");
app.disable("etag");
app.use(express.json());
app.use(async (req, res, next) => {
  const principal = await authenticate(req.headers.authorization);
  if (!principal) {
    res.status(401).json({ error: { code: "unauthorized", message: "invalid bearer token", details: {} } });
    return;
  }
  res.locals.principal = principal;
  next();
});
const org = (res: express.Response) => (res.locals.principal as PeerPrincipal).organizationId;

app.get("/api/v1/sessions/:session", async (req, res) => {
  const { rows } = await pool.query<SessionRecord>(getSessionSql, [org(res), req.params.session.toUpperCase()]);
  if (!rows[0]) {
    res.status(404).json({ error: { code: "not_found", message: "session not found", details: {} } });
    return;
  }
  res.json(sessionJson(rows[0]));
});
app.get("/api/v1/sessions", async (_req, res) => {
  const { rows } = await pool.query<SessionRecord>(listSessionsSql, [org(res)]);
  res.json({ sessions: rows.map(sessionJson), nextCursor: null });
});
app.post("/api/v1/sessions", async (req, res) => {
  const body = (req.body ?? {}) as { label?: string };
  res.status(201).json(sessionJson(await createSession(pool, org(res), body.label ?? null)));
});

const server = app.listen(0, "127.0.0.1", () => {
  process.stderr.write(JSON.stringify({ msg: "ready", port: (server.address() as AddressInfo).port }) + "\n");
});
process.on("SIGTERM", () => server.close(() => void pool.end().then(() => process.exit(0))));
