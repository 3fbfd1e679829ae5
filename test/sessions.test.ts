import { fromBinary } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorInfoSchema } from "../gen/google/rpc/error_details_pb.js";
import { SessionStatus } from "../gen/wagateway/v1/session_pb.js";
import { SessionService } from "../gen/wagateway/v1/session_service_pb.js";
import { backends } from "./support/backends.js";
import { errorFields, expectApiError } from "./support/expect-error.js";
import { startTestGateway, type TestGateway } from "./support/test-gateway.js";
import { clientFor, transportCases } from "./support/transports.js";

describe.each(backends)("sessions on $name", (backend) => {
  let gw: TestGateway;
  let org: string;
  let key: string;

  beforeAll(async () => {
    gw = await startTestGateway(backend);
    org = gw.newOrgId();
    key = await gw.createKey(org, ["manage", "read"]);
  });
  afterAll(() => gw?.close());

  describe.each(transportCases)("over $name", (tc) => {
    it("creates, lists and gets a session", async () => {
      const client = clientFor(SessionService, tc, gw.url, key);
      const before = Date.now();
      const { session } = await client.createSession({ label: `via ${tc.name}` });
      expect(session).toBeDefined();
      const s = session!;
      expect(s.id).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
      expect(s).toMatchObject({
        organizationId: org,
        label: `via ${tc.name}`,
        status: SessionStatus.STOPPED,
        autoRead: false,
        presenceTyping: true,
        ratePerMin: 20,
        ratePerHour: 600,
        isAdminSession: false,
      });
      // Nothing is paired or held yet: those fields are absent, not invented.
      expect(s.phoneNumber).toBeUndefined();
      expect(s.waJid).toBeUndefined();
      expect(s.waLid).toBeUndefined();
      expect(s.gatewayId).toBeUndefined();
      expect(s.lastConnectedAt).toBeUndefined();
      expect(Number(s.createdAt)).toBeGreaterThanOrEqual(before - 1000);
      expect(s.updatedAt).toBe(s.createdAt);

      const got = await client.getSession({ session: s.id });
      expect(got.session).toEqual(s);

      const list = await client.listSessions({});
      expect(list.sessions.map((x) => x.id)).toContain(s.id);
      expect(list.nextCursor).toBeUndefined();
      expect(list.sessions.every((x) => x.organizationId === org)).toBe(true);
    });
  });

  it("is not idempotent: two identical creates make two sessions", async () => {
    const client = clientFor(SessionService, transportCases[0]!, gw.url, key);
    const a = await client.createSession({ label: "same" });
    const b = await client.createSession({ label: "same" });
    expect(a.session!.id).not.toBe(b.session!.id);
  });

  it("stores explicit settings and start: true as starting (no pairing is pretended)", async () => {
    const client = clientFor(SessionService, transportCases[1]!, gw.url, key);
    const { session } = await client.createSession({
      start: true,
      autoRead: true,
      presenceTyping: false,
      ratePerMin: 5,
      ratePerHour: 100,
    });
    expect(session).toMatchObject({ status: SessionStatus.STARTING, autoRead: true, presenceTyping: false, ratePerMin: 5, ratePerHour: 100 });
    expect(session!.label).toBeUndefined();
    expect(session!.phoneNumber).toBeUndefined();
    const again = await client.getSession({ session: session!.id });
    expect(again.session!.status).toBe(SessionStatus.STARTING);
  });

  it("rejects bad create bodies with validation_error naming each field, and writes nothing", async () => {
    const client = clientFor(SessionService, transportCases[0]!, gw.url, key);
    const countBefore = (await client.listSessions({})).sessions.length;
    const err = await expectApiError(
      client.createSession({ label: "x".repeat(101), ratePerMin: 0, ratePerHour: 100_001 }),
      "validation_error",
      Code.InvalidArgument,
    );
    expect(errorFields(err)).toEqual({
      label: "must be at most 100 characters",
      ratePerMin: "must be between 1 and 1000",
      ratePerHour: "must be between 1 and 100000",
    });
    await expectApiError(client.createSession({ label: "bad\u0000label" }), "validation_error");
    await expectApiError(client.createSession({ ratePerMin: -5 }), "validation_error");
    expect((await client.listSessions({})).sessions.length).toBe(countBefore);
  });

  it("rejects unknown JSON fields, wrong JSON types and malformed JSON on the Connect protocol", async () => {
    // A timeout header takes the call through connect-es's own handler instead of the unary fast path: both answer alike.
    const post = (body: string, extra: Record<string, string>) =>
      fetch(`${gw.url}/wagateway.v1.SessionService/CreateSession`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${key}`, ...extra },
        body,
      });
    for (const extra of [{}, { "connect-timeout-ms": "10000" }] as Record<string, string>[])
    for (const body of ['{"lable":"typo"}', '{"label":5}', '{"start":"yes"}', '{"label":', "[]", '{"ratePerMin":1e99}']) {
      const res = await post(body, extra);
      expect(res.status, body).toBe(400);
      const json = (await res.json()) as { code: string; details?: { type: string; value: string }[] };
      expect(json.code, body).toBe("invalid_argument");
      // The contract's reason, as on every other error: ErrorInfo{reason: validation_error}.
      const info = json.details?.find((d) => d.type === "google.rpc.ErrorInfo");
      expect(info, `${body}: ${JSON.stringify(json)}`).toBeDefined();
      expect(fromBinary(ErrorInfoSchema, Buffer.from(info!.value, "base64")).reason, body).toBe("validation_error");
    }
  });

  it("accepts a 100-character label counted in characters, not bytes", async () => {
    const client = clientFor(SessionService, transportCases[0]!, gw.url, key);
    const label = "é".repeat(100);
    const { session } = await client.createSession({ label });
    expect(session!.label).toBe(label);
  });

  it("answers not_found for an unknown id and validation_error for a malformed one", async () => {
    const client = clientFor(SessionService, transportCases[0]!, gw.url, key);
    await expectApiError(client.getSession({ session: "01ARZ3NDEKTSV4RRFFQ69G5FAV" }), "not_found", Code.NotFound);
    await expectApiError(client.getSession({ session: "../../etc/passwd" }), "validation_error");
    await expectApiError(client.getSession({ session: "" }), "validation_error");
  });

  it("updates settings and deletes a session", async () => {
    const client = clientFor(SessionService, transportCases[3]!, gw.url, key);
    const { session } = await client.createSession({ label: "before" });
    const id = session!.id;
    const updated = await client.updateSession({ session: id, label: "after", ratePerMin: 7 });
    expect(updated.session).toMatchObject({ id, label: "after", ratePerMin: 7, ratePerHour: 600 });
    expect(updated.session!.updatedAt).toBeGreaterThanOrEqual(session!.updatedAt);
    const cleared = await client.updateSession({ session: id, label: "" });
    expect(cleared.session!.label).toBeUndefined();
    await expectApiError(client.updateSession({ session: id, ratePerHour: 0 }), "validation_error");
    await client.deleteSession({ session: id });
    await expectApiError(client.getSession({ session: id }), "not_found");
    await expectApiError(client.deleteSession({ session: id }), "not_found");
  });

  it("answers conflict for wrong-state lifecycle calls on a stopped session", async () => {
    const client = clientFor(SessionService, transportCases[0]!, gw.url, key);
    const { session } = await client.createSession({});
    const id = session!.id;
    await expectApiError(client.getQrCode({ session: id }), "conflict", Code.FailedPrecondition);
    await expectApiError(client.requestPairingCode({ session: id, phoneNumber: "6281234567890" }), "conflict");
    await expectApiError(client.logoutSession({ session: id }), "conflict");
    await expectApiError(client.requestPairingCode({ session: id, phoneNumber: "+62 812" }), "validation_error");
    const stopped = await client.stopSession({ session: id });
    expect(stopped.session!.status).toBe(SessionStatus.STOPPED);
  });
});
