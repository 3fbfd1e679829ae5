import type { DescMethod } from "@bufbuild/protobuf";
import type { HandlerContext, StreamRequest, UnaryRequest } from "@connectrpc/connect";

/**
 * The handler context a direct (in-process, interceptor-wrapped) call gives
 * its implementation: the same fields connect-es fills for a Connect POST,
 * with the interceptors' request header, signal and context values.
 */
export function directHandlerContext(
  method: DescMethod,
  url: string,
  req: UnaryRequest | StreamRequest,
  responseHeader: Headers,
  responseTrailer: Headers,
): HandlerContext {
  return {
    method,
    service: method.parent,
    requestMethod: "POST",
    protocolName: "connect",
    url,
    signal: req.signal,
    timeoutMs: () => undefined,
    requestHeader: req.header,
    responseHeader,
    responseTrailer,
    values: req.contextValues,
  };
}
