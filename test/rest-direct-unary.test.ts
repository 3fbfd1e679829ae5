import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { GetSessionRequestSchema, SessionService } from "../gen/wagateway/v1/session_service_pb.js";
import { createDirectUnary } from "../src/rest/direct-unary.js";

const getSession = SessionService.method.getSession;
const input = create(GetSessionRequestSchema, { session: "01J9ZX8K2QHV0M3T6R7P4N5W8C" });

describe("REST direct unary calls", () => {
  it("run the interceptors outermost first around the implementation, with the caller's headers and signal", async () => {
    const seen: string[] = [];
    const tag = (name: string): Interceptor => (next) => async (req) => {
      seen.push(`${name} ${req.header.get("x-test")}`);
      const res = await next(req);
      seen.push(`${name} done`);
      return res;
    };
    const ac = new AbortController();
    const call = createDirectUnary(getSession, (req, ctx) => {
      seen.push(`impl ${(req as typeof input).session} ${ctx.signal === ac.signal}`);
      ctx.responseHeader.set("x-from-handler", "1");
      ctx.responseTrailer.set("x-trailer", "2");
      return { session: { id: "s1" } };
    }, [tag("outer"), tag("inner")]);
    const r = await call(input, new Headers({ "x-test": "h" }), ac.signal);
    expect(seen).toEqual(["outer h", "inner h", `impl ${input.session} true`, "inner done", "outer done"]);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect((r.message as unknown as { session: { id: string } }).session.id).toBe("s1");
    expect([r.header.get("x-from-handler"), r.trailer.get("x-trailer")]).toEqual(["1", "2"]);
  });

  it("return ConnectErrors as they are, and anything else as internal without its message", async () => {
    const limited = createDirectUnary(getSession, () => {
      const e = new ConnectError("slow down", Code.ResourceExhausted);
      e.metadata.set("retry-after", "7");
      throw e;
    }, []);
    const r1 = await limited(input, new Headers(), new AbortController().signal);
    expect(r1.ok).toBe(false);
    if (r1.ok) return;
    expect([r1.error.code, r1.error.rawMessage, r1.error.metadata.get("retry-after")]).toEqual([Code.ResourceExhausted, "slow down", "7"]);

    const broken = createDirectUnary(getSession, () => {
      throw new Error("password=secret");
    }, []);
    const r2 = await broken(input, new Headers(), new AbortController().signal);
    expect(r2.ok).toBe(false);
    if (r2.ok) return;
    expect([r2.error.code, r2.error.rawMessage]).toEqual([Code.Internal, "internal error"]);
  });
});
