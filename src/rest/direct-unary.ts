import { create, type DescMessage, type DescMethod, isMessage, type Message } from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  type ContextValues,
  createContextValues,
  type HandlerContext,
  type Interceptor,
  type UnaryRequest,
  type UnaryResponse,
} from "@connectrpc/connect";
import { directHandlerContext } from "./direct-context.js";

/** The outcome of a direct call: the response message or the error, with the response headers and trailers. */
export type DirectResult = ({ ok: true; message: Message } | { ok: false; error: ConnectError }) & { header: Headers; trailer: Headers };

/** A unary RPC called in-process: the router's interceptors and the method's handler, no protocol in between. */
export type DirectUnary = (input: Message, header: Headers, signal: AbortSignal, contextValues?: ContextValues) => Promise<DirectResult>;

/** A unary method's implementation, as given to `router.service`. */
export type UnaryImplementation = (request: Message, context: HandlerContext) => unknown;

type Next = (req: UnaryRequest) => Promise<UnaryResponse>;

/**
 * Makes the REST hot path for one unary method: the same interceptors (auth,
 * errors, metrics) around the same implementation as every other protocol,
 * called the way connect-es calls them, but without encoding the request and
 * response as protobuf, without an envelope, and with the REST request's own
 * abort signal as the handler's signal (connect-es links and aborts one per
 * call). Errors come back as connect-es would see them: ConnectErrors as
 * they are, anything else `internal`; each protocol writes the error's
 * metadata its own way. REST uses it, and so do the Connect and gRPC unary
 * fast paths.
 */
export function createDirectUnary(method: DescMethod, impl: UnaryImplementation, interceptors: readonly Interceptor[]): DirectUnary {
  const url = `http://rest.invalid/${method.parent.typeName}/${method.name}`;
  const output = method.output as DescMessage;
  const unaryMethod = method as UnaryRequest["method"];
  const chain = (responseHeader: Headers, responseTrailer: Headers): Next => {
    let next: Next = async (req) => {
      const ctx = directHandlerContext(method, url, req, responseHeader, responseTrailer);
      const out = await impl(req.message, ctx);
      const message = isMessage(out, output) ? out : create(output, out as never);
      return { stream: false, service: method.parent, method: unaryMethod, message, header: responseHeader, trailer: responseTrailer };
    };
    for (let i = interceptors.length - 1; i >= 0; i--) next = interceptors[i]!(next as never) as unknown as Next;
    return next;
  };
  return async (input, header, signal, contextValues) => {
    const responseHeader = new Headers();
    const responseTrailer = new Headers();
    const call = chain(responseHeader, responseTrailer);
    try {
      const res = await call({
        stream: false,
        service: method.parent,
        method: unaryMethod,
        requestMethod: "POST",
        url,
        signal,
        header,
        contextValues: contextValues ?? createContextValues(),
        message: input,
      });
      return { ok: true, message: res.message, header: res.header, trailer: res.trailer };
    } catch (err) {
      const error = err instanceof ConnectError ? err : new ConnectError("internal error", Code.Internal, undefined, undefined, err);
      return { ok: false, error, header: responseHeader, trailer: responseTrailer };
    }
  };
}
