import type { DescMethod } from "@bufbuild/protobuf";
import type { ConnectRouter, Interceptor } from "@connectrpc/connect";
import { kDirectStream, type StreamImplementation } from "../server/message-sink.js";
import { createDirectStream, type DirectStream } from "./direct-stream.js";
import { createDirectUnary, type DirectUnary, type UnaryImplementation } from "./direct-unary.js";

/** A router that also remembers every unary implementation registered on it. */
export interface DirectRouter {
  /** Registers on the wrapped router as usual. */
  router: ConnectRouter;
  /** Each unary method registered so far, callable in-process through `interceptors`. */
  direct: ReadonlyMap<DescMethod, DirectUnary>;
  /** Each server-streaming method whose implementation carries a direct form ({@link kDirectStream}). */
  streams: ReadonlyMap<DescMethod, DirectStream>;
}

/**
 * Wraps `router` so that, besides registering services as usual, it keeps a
 * {@link DirectUnary} for every unary method, wrapped in the router's
 * `interceptors` (REST's hot path), and a {@link DirectStream} for every
 * server stream that has a direct form. A service registered with interceptors
 * of its own is left to the protocol path, which applies them.
 */
export function directRouter(router: ConnectRouter, interceptors: readonly Interceptor[]): DirectRouter {
  const direct = new Map<DescMethod, DirectUnary>();
  const streams = new Map<DescMethod, DirectStream>();
  const remember = (method: DescMethod, impl: unknown, self: unknown) => {
    if (method.methodKind === "server_streaming" && typeof impl === "function" && kDirectStream in impl) {
      streams.set(method, createDirectStream(method, (impl as unknown as Record<symbol, StreamImplementation>)[kDirectStream]!, interceptors));
      return;
    }
    if (method.methodKind !== "unary" || typeof impl !== "function") return;
    direct.set(method, createDirectUnary(method, (impl as UnaryImplementation).bind(self), interceptors));
  };
  const wrapper = {
    handlers: router.handlers,
    service(service, implementation, options) {
      if (!options?.interceptors) {
        for (const m of service.methods) remember(m, (implementation as Record<string, unknown>)[m.localName], implementation);
      }
      router.service(service, implementation, options);
      return wrapper;
    },
    rpc(method, impl, options) {
      if (!options?.interceptors) remember(method, impl, undefined);
      router.rpc(method, impl, options);
      return wrapper;
    },
  } as ConnectRouter;
  return { router: wrapper, direct, streams };
}
