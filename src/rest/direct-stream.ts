import type { DescMethod, Message } from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  type ContextValues,
  createContextValues,
  type Interceptor,
  type StreamRequest,
  type StreamResponse,
} from "@connectrpc/connect";
import { directHandlerContext } from "./direct-context.js";
import type { MessageSink, StreamImplementation } from "../server/message-sink.js";

/** A direct stream call: refused before any message (`ok: false`), or running until `done` (its final error, if any). */
export type DirectStreamResult = { ok: false; error: ConnectError; trailer: Headers } | { ok: true; done: Promise<ConnectError | undefined>; header: Headers; trailer: Headers };

/** A server stream called in-process through the router's interceptors, writing into a sink. */
export type DirectStream = (input: Message, header: Headers, signal: AbortSignal, sink: MessageSink, contextValues?: ContextValues) => Promise<DirectStreamResult>;

type Next = (req: StreamRequest) => Promise<StreamResponse>;

const asError = (err: unknown) => (err instanceof ConnectError ? err : new ConnectError("internal error", Code.Internal, undefined, undefined, err));

/**
 * Makes the direct form of one server-streaming method: the same
 * interceptors (auth, errors, metrics) around the same implementation as the
 * protocol path, called as connect-es calls them; the interceptors see a
 * response stream that ends when the direct stream does, so they observe its
 * final code and duration.
 */
export function createDirectStream(method: DescMethod, impl: StreamImplementation, interceptors: readonly Interceptor[]): DirectStream {
  const url = `http://rest.invalid/${method.parent.typeName}/${method.name}`;
  const streamMethod = method as StreamRequest["method"];
  return async (input, header, signal, sink, contextValues) => {
    const responseHeader = new Headers();
    const responseTrailer = new Headers();
    let next: Next = async (req) => {
      const ctx = directHandlerContext(method, url, req, responseHeader, responseTrailer);
      const { done } = await impl(input, ctx, sink);
      async function* untilDone(): AsyncGenerator<Message> {
        await done;
      }
      return { stream: true, service: method.parent, method: streamMethod, header: responseHeader, trailer: responseTrailer, message: untilDone() };
    };
    for (let i = interceptors.length - 1; i >= 0; i--) next = interceptors[i]!(next as never) as unknown as Next;
    let res: StreamResponse;
    try {
      res = await next({
        stream: true,
        service: method.parent,
        method: streamMethod,
        requestMethod: "POST",
        url,
        signal,
        header,
        contextValues: contextValues ?? createContextValues(),
        message: (async function* () {
          yield input;
        })(),
      });
    } catch (err) {
      return { ok: false, error: asError(err), trailer: responseTrailer };
    }
    const done = (async () => {
      try {
        for await (const _ of res.message) {
          /* the stream writes to the sink itself */
        }
        return undefined;
      } catch (err) {
        return asError(err);
      }
    })();
    return { ok: true, done, header: res.header, trailer: res.trailer };
  };
}
