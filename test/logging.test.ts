import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { closedPort } from "./support/closed-port.js";
import { createLogger, type LogLevel, redactedText } from "../src/logger.js";
import { baileysLogger, repeatedLinesMsg } from "../src/whatsapp/baileys-logger.js";
import { spawnGateway } from "./support/gateway-process.js";
import { findLog, type LogLine, logLines, logsWithMsg } from "./support/log-lines.js";
import { waitUntil } from "./support/wait.js";

/** A logger writing into an array of parsed lines (pino's own output, one JSON object per write). */
function capture(level: LogLevel, bindings: Record<string, unknown> = {}) {
  const lines: LogLine[] = [];
  const raw: string[] = [];
  const log = createLogger(level, bindings, {
    write(line: string) {
      raw.push(line);
      lines.push(JSON.parse(line) as LogLine);
    },
  });
  return { log, lines, text: () => raw.join("") };
}

const dangerWarning =
  "⚠️ DANGER: DISABLING ALL SYNC BY shouldSyncHistoryMsg PREVENTS BAILEYS FROM ACCESSING INITIAL LID MAPPINGS, LEADING TO INSTABILIY AND SESSION ERRORS";

describe("log lines", () => {
  it("are JSON with the level as a word, ISO time, the bindings, the fields and msg", () => {
    const { log, lines } = capture("info", { gatewayId: "gw-log" });
    log.debug("below the level");
    log.child({ sessionId: "s1" }).warn({ attempt: 2 }, "connection lost");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toEqual({ level: "warn", time: expect.any(String), gatewayId: "gw-log", sessionId: "s1", attempt: 2, msg: "connection lost" });
    expect(new Date(lines[0]!.time!).toISOString()).toBe(lines[0]!.time);
  });

  it("redact authorization headers, cookies, tokens, API keys, webhook secrets, passwords, database URLs and Baileys' auth state", () => {
    const { log, lines, text } = capture("debug");
    const secrets = {
      bearer: "Bearer wag_headerSecretValue0123456789",
      cookie: "session=cookieSecretValue",
      setCookie: "sid=setCookieSecretValue",
      token: "tokenSecretValue",
      apiKey: "wag_apiKeySecretValue0123456789",
      webhook: "whsec_webhookSecretValue0123456789",
      password: "passwordSecretValue",
      databaseUrl: "postgres://app:dbPasswordSecret@db:5432/app",
      noiseKey: "noiseKeyPrivateSecretValue",
      preKey: "preKeyPrivateSecretValue",
      pairing: "devicePairingSecretValue",
    };
    log.info({ authorization: secrets.bearer, cookie: secrets.cookie }, "top level");
    log.info({ headers: { authorization: secrets.bearer, cookie: secrets.cookie, "set-cookie": secrets.setCookie, accept: "application/json" } }, "headers");
    log.info({ req: { headers: { authorization: secrets.bearer } } }, "nested request");
    log.info({ token: secrets.token, apiKey: secrets.apiKey, secret: secrets.webhook, password: secrets.password, databaseUrl: secrets.databaseUrl }, "credentials");
    log.info({ webhook: { secret: secrets.webhook, url: "https://example.com/hook" }, key: { secret: secrets.apiKey } }, "one level down");
    log.debug({ creds: { noiseKey: { private: secrets.noiseKey } }, keys: { "pre-key": { 1: { private: secrets.preKey } } } }, "auth state");
    log.info({ node: { username: 15550001111, devicePairingData: { eIdent: secrets.pairing } } }, "not logged in, attempting registration...");

    for (const value of Object.values(secrets)) expect(text()).not.toContain(value);
    const by = (msg: string) => lines.find((l) => l.msg === msg)!;
    expect(by("top level")).toMatchObject({ authorization: redactedText, cookie: redactedText });
    expect(by("headers").headers).toEqual({ authorization: redactedText, cookie: redactedText, "set-cookie": redactedText, accept: "application/json" });
    expect(by("nested request")).toMatchObject({ req: { headers: { authorization: redactedText } } });
    expect(by("credentials")).toMatchObject({ token: redactedText, apiKey: redactedText, secret: redactedText, password: redactedText, databaseUrl: redactedText });
    expect(by("one level down")).toMatchObject({ webhook: { secret: redactedText, url: "https://example.com/hook" }, key: { secret: redactedText } });
    expect(by("auth state")).toMatchObject({ creds: redactedText, keys: redactedText });
    expect(by("not logged in, attempting registration...")).toMatchObject({ node: { username: 15550001111, devicePairingData: redactedText } });
  });

  it("write errors with type, message and stack (causes included), secret shapes scrubbed", () => {
    const { log, lines, text } = capture("info");
    const cause = new Error("connect ECONNREFUSED postgres://app:hunter2secret@db:5432/app");
    const err = Object.assign(new Error("sending to https://hook.example failed: Bearer wag_stackKeySecret0123 whsec_stackSecret0123==", { cause }), { code: "E_HOOK" });
    log.error({ err }, "webhook delivery round failed; retrying");
    log.warn({ error: new TypeError("bad input") }, "Baileys' own key");
    log.error(new RangeError("first argument"));

    for (const s of ["hunter2secret", "wag_stackKeySecret0123", "whsec_stackSecret0123"]) expect(text()).not.toContain(s);
    const [first, second, third] = lines;
    expect(first!.err).toMatchObject({ type: "Error", code: "E_HOOK", message: expect.stringContaining("Bearer [redacted]") });
    const e = first!.err as { message: string; stack: string };
    expect(e.message).toContain("whsec_[redacted]");
    expect(e.message).toContain(`postgres://app:${redactedText}@db:5432/app`); // the cause's message, appended
    expect(e.stack).toMatch(/^Error: sending to/);
    expect(e.stack).toContain("caused by: Error: connect ECONNREFUSED");
    expect(e.stack).toContain("logging.test.ts");
    expect(second!.error).toMatchObject({ type: "TypeError", message: "bad input", stack: expect.stringContaining("TypeError: bad input") });
    expect(third).toMatchObject({ level: "error", msg: "first argument", err: { type: "RangeError", message: "first argument" } });
  });
});

describe("Baileys' logs", () => {
  it("go through a child with component baileys and the session's bindings; a repeated warning is written once, then counted", () => {
    const { log, lines } = capture("info", { gatewayId: "gw-log" });
    const session = log.child({ sessionId: "sess_a", organizationId: "org_a" });
    const baileys = baileysLogger(session, { level: "warn", collapseWindowMs: 3_600_000 });
    const socketChild = baileys.child({ class: "socket" }); // Baileys makes children of its own

    for (let i = 0; i < 21; i++) (i % 2 ? socketChild : baileys).warn(dangerWarning);
    baileys.warn({ jid: "1555@s.whatsapp.net" }, "keep alive called when WS not open");
    baileys.warn({ jid: "1555@s.whatsapp.net" }, "keep alive called when WS not open");
    baileys.error({ err: new Error("stream end") }, "unexpected error in 'init queries'");
    baileys.info("connected to WA"); // below WA_LOG_LEVEL
    // The 515 "restart required" after pairing is routine: written at debug (below the level here).
    baileys.error({ reasonNode: {}, fullErrorNode: { tag: "stream:error", attrs: { code: "515" } } }, "stream errored out");
    baileys.error({ reasonNode: {}, fullErrorNode: { tag: "stream:error", attrs: { code: "515" } } }, "stream errored out");

    // Before the window closes: each message once.
    expect(lines.map((l) => l.msg)).toEqual([dangerWarning, "keep alive called when WS not open", "unexpected error in 'init queries'"]);
    expect(lines[0]).toEqual({ level: "warn", time: expect.any(String), gatewayId: "gw-log", sessionId: "sess_a", organizationId: "org_a", component: "baileys", msg: dangerWarning });
    expect(lines[1]).toMatchObject({ jid: "1555@s.whatsapp.net" });
    expect(lines[2]).toMatchObject({ level: "error", component: "baileys", err: { message: "stream end" } });

    // The session stops: what was counted is said, once per message.
    baileys.flush();
    const summaries = lines.filter((l) => l.msg === repeatedLinesMsg);
    expect(summaries).toHaveLength(2);
    expect(summaries).toContainEqual({
      level: "warn",
      time: expect.any(String),
      gatewayId: "gw-log",
      sessionId: "sess_a",
      organizationId: "org_a",
      component: "baileys",
      repeated: dangerWarning,
      suppressed: 20,
      windowMs: 3_600_000,
      msg: repeatedLinesMsg,
    });
    expect(summaries).toContainEqual(expect.objectContaining({ repeated: "keep alive called when WS not open", suppressed: 1 }));
    expect(lines.filter((l) => l.msg === dangerWarning)).toHaveLength(1);

    // A new window: the message is written again.
    baileys.warn(dangerWarning);
    expect(lines.filter((l) => l.msg === dangerWarning)).toHaveLength(2);
  });

  it("count per session, and are never written below LOG_LEVEL whatever WA_LOG_LEVEL says", () => {
    const { log, lines } = capture("info");
    const a = baileysLogger(log.child({ sessionId: "sess_a" }), { level: "debug", collapseWindowMs: 3_600_000 });
    const b = baileysLogger(log.child({ sessionId: "sess_b" }), { level: "debug", collapseWindowMs: 3_600_000 });
    expect(a.level).toBe("info");
    a.debug({ frame: 1 }, "communication recv");
    a.warn(dangerWarning);
    a.warn(dangerWarning);
    b.warn(dangerWarning);
    a.error({ fullErrorNode: { attrs: { code: "515" } } }, "stream errored out");
    a.flush();
    b.flush();
    expect(lines.map((l) => [l.sessionId, l.msg])).toEqual([
      ["sess_a", dangerWarning],
      ["sess_b", dangerWarning],
      ["sess_a", repeatedLinesMsg],
    ]);

    const verbose = capture("debug");
    const c = baileysLogger(verbose.log.child({ sessionId: "sess_c" }), { level: "debug" });
    c.error({ fullErrorNode: { attrs: { code: "515" } } }, "stream errored out");
    c.trace("below debug");
    expect(verbose.lines).toEqual([expect.objectContaining({ level: "debug", sessionId: "sess_c", component: "baileys", msg: "stream errored out" })]);
  });
});

describe("a real gateway's log", { timeout: 180_000 }, () => {
  it("binds request ids to request lines and session ids to engine lines, collapses Baileys' repeats, and is JSON from start to stop", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "wagw-logging-"));
    const gw = await spawnGateway({
      DATA_DIR: dataDir,
      LOG_LEVEL: "debug",
      WA_LOG_LEVEL: "warn",
      WA_LOG_REPEAT_WINDOW_MS: "3600000",
      WA_WEBSOCKET_URL: `ws://127.0.0.1:${await closedPort()}/ws/chat`,
      WA_MAX_RECONNECTS: "2",
      WA_RECONNECT_BASE_MS: "100",
      WA_RECONNECT_MAX_MS: "100",
      AUTH_FAILURE_LIMIT: "1",
    });
    let stopped = false;
    try {
      const key = (await gw.waitForStdout(/API key:\s+(wag_\S+)/))[1]!;
      const auth = { authorization: `Bearer ${key}` };

      // REST with the caller's id: echoed, and on the call's line.
      const given = await fetch(`${gw.url}/api/v1/sessions`, { headers: { ...auth, "x-request-id": "logging-rest-1" } });
      expect(given.status).toBe(200);
      expect(given.headers.get("x-request-id")).toBe("logging-rest-1");
      // Connect with an id that is not a safe token: a new one, echoed and logged.
      const unsafe = await fetch(`${gw.url}/wagateway.v1.SessionService/ListSessions`, {
        method: "POST",
        headers: { ...auth, "content-type": "application/json", "x-request-id": "not a safe id" },
        body: "{}",
      });
      expect(unsafe.status).toBe(200);
      const generated = unsafe.headers.get("x-request-id")!;
      expect(generated).toMatch(/^[0-9a-f-]{36}$/);
      const rpcLine = (id: string) => waitUntil(`the rpc line of ${id}`, () => logLines(gw.stderr()).find((l) => l.msg === "rpc" && l.requestId === id), 10_000);
      expect(await rpcLine("logging-rest-1")).toMatchObject({ level: "debug", procedure: "wagateway.v1.SessionService/ListSessions", protocol: "rest", code: "ok" });
      expect(await rpcLine(generated)).toMatchObject({ protocol: "connect", code: "ok" });

      // A session that cannot reach WhatsApp: its engine lines carry its ids.
      const created = await fetch(`${gw.url}/api/v1/sessions`, { method: "POST", headers: { ...auth, "content-type": "application/json" }, body: JSON.stringify({ start: true }) });
      expect(created.status).toBe(201);
      const session = (await created.json()) as { id: string; organizationId: string };
      await waitUntil("the session to give up", () => findLog(gw.stderr(), "giving up on the session: every connection attempt failed"), 60_000);
      const ids = { sessionId: session.id, organizationId: session.organizationId };
      // The access log names the caller's organization once the call is authenticated.
      expect(await rpcLine("logging-rest-1")).toMatchObject({ organizationId: session.organizationId });
      expect(await rpcLine(generated)).toMatchObject({ organizationId: session.organizationId });
      const attempts = logsWithMsg(gw.stderr(), "connection attempt failed");
      expect(attempts.map((l) => l.attempt)).toEqual([1, 2]);
      for (const l of attempts) expect(l).toMatchObject({ level: "warn", ...ids, component: "whatsapp" });
      expect(findLog(gw.stderr(), "giving up on the session: every connection attempt failed")).toMatchObject({ level: "error", ...ids, component: "whatsapp" });
      // Baileys warns about disabled history sync on each of the 3 sockets: written once so far.
      expect(logsWithMsg(gw.stderr(), dangerWarning)).toEqual([expect.objectContaining({ level: "warn", ...ids, component: "baileys" })]);

      // A request-handling line besides the access log: the failed-token limit (1 here), with the call's id.
      const refused = await fetch(`${gw.url}/api/v1/sessions`, { headers: { authorization: "Bearer wag_notARealKeyButSecret0123", "x-request-id": "logging-bad-token" } });
      expect(refused.status).toBe(401);
      expect(await waitUntil("the over-the-limit line", () => findLog(gw.stderr(), "failed bearer tokens over the limit; client refused until its window ends"), 10_000)).toMatchObject({
        level: "warn",
        requestId: "logging-bad-token",
        client: expect.any(String),
      });
      expect(findLog(gw.stderr(), "failed bearer tokens over the limit; client refused until its window ends")).not.toHaveProperty("organizationId");

      expect(await gw.stop("SIGTERM")).toBe(0);
      stopped = true;
      const text = gw.stderr();
      // Stopping the session said how often Baileys repeated itself.
      expect(logsWithMsg(text, repeatedLinesMsg)).toContainEqual(expect.objectContaining({ level: "warn", ...ids, component: "baileys", repeated: dangerWarning, suppressed: 2 }));
      // Every line, from the first to "stopped", is a JSON object with level, ISO time and msg.
      const raw = text.split("\n");
      expect(raw.pop()).toBe("");
      const lines = raw.map((l) => JSON.parse(l) as LogLine);
      for (const l of lines) {
        expect(["debug", "info", "warn", "error"]).toContain(l.level);
        expect(new Date(l.time!).toISOString()).toBe(l.time);
        expect(typeof l.msg).toBe("string");
        expect(l.gatewayId).toBeDefined();
      }
      expect(lines.map((l) => l.msg)).toEqual(expect.arrayContaining(["listening", "ready", "shutting down"]));
      expect(lines.at(-1)!.msg).toBe("stopped");
      expect(text).not.toContain(key);
      expect(text).not.toContain("wag_notARealKeyButSecret0123");
    } finally {
      if (!stopped) await gw.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
