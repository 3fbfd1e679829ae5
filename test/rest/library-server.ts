import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { apiError, type ErrorWord } from "../../src/errors/api-error.js";
import { createLogger } from "../../src/logger.js";
import { createGatewayHandler, type GatewayHandlerOptions } from "../../src/rest/gateway-handler.js";
import { qrPng } from "../../src/rest/media-renderer.js";
import { errorInterceptor } from "../../src/server/error-interceptor.js";
import { type Listener, listen } from "../../src/server/listener.js";
import {
  type Book,
  BookSchema,
  CountResponseSchema,
  GetFileResponseSchema,
  LibraryService,
  ListBooksResponseSchema,
  UpdateBookResponseSchema,
  WatchResponseSchema,
} from "../gen/resttest/v1/library_pb.js";

/** What the test service observed. */
export interface LibraryState {
  /** Watch streams whose handler saw the client leave. */
  cancelled: number;
  /** Authorization headers seen by the interceptor. */
  authorizations: (string | null)[];
}

/** A running test server: the gateway handler serving the test-only LibraryService. */
export interface LibraryServer {
  url: string;
  port: number;
  state: LibraryState;
  close(): Promise<void>;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(t);
      resolve();
    });
  });

/**
 * Starts the gateway handler on a real listener with the test-only service
 * and an interceptor that rejects `Bearer bad` as `unauthorized`, so REST
 * calls provably run through interceptors.
 */
export async function startLibraryServer(options: Partial<GatewayHandlerOptions> = {}, listenOptions: { headersTimeoutMs?: number; keepAliveTimeoutMs?: number } = {}): Promise<LibraryServer> {
  const state: LibraryState = { cancelled: 0, authorizations: [] };
  const auth: Interceptor = (next) => async (req) => {
    const a = req.header.get("authorization");
    state.authorizations.push(a);
    if (a === "Bearer bad") throw apiError("unauthorized", "invalid credentials");
    return next(req);
  };
  const log = createLogger("error");
  const handler = createGatewayHandler({
    routes: (router) =>
      router.service(LibraryService, {
        getBook: (req, ctx) => {
          ctx.responseHeader.set("x-book-etag", `"${req.book}"`);
          ctx.responseTrailer.set("x-served-by", "library");
          return create(BookSchema, { shelf: req.shelf, id: req.book, title: `title of ${req.book}`, publishedAt: 1719662400000n });
        },
        getBookByName: (req) => create(BookSchema, { id: req.name }),
        getFile: (req) => create(GetFileResponseSchema, { path: req.path }),
        listBooks: (req) => create(ListBooksResponseSchema, { request: req, books: [] }),
        createBook: (req) => ({ ...(req.book ?? create(BookSchema)), shelf: req.shelf, id: req.requestId || "new" }),
        updateBook: (req) => create(UpdateBookResponseSchema, { book: req.book, created: req.allowMissing }),
        deleteBook: () => ({}),
        archiveBook: (req) => create(BookSchema, { shelf: req.shelf, id: req.book, subtitle: req.reason }),
        putBook: (req) => ({ ...(req.body ?? create(BookSchema)), shelf: req.shelf, id: req.book }),
        echo: (req) => ({ book: req.book, choice: req.choice }),
        fail(req) {
          if (req.word === "panic") throw new Error("boom");
          if (req.word === "unimplemented") throw new ConnectError("later", Code.Unimplemented);
          if (req.word === "rate_limited") {
            const e = apiError("rate_limited", "failed with rate_limited");
            e.metadata.set("retry-after", "7");
            throw e;
          }
          throw apiError(req.word as ErrorWord, `failed with ${req.word}`, req.word === "validation_error" ? { fields: { word: "is bad" } } : {});
        },
        async *watch(req, ctx) {
          yield create(WatchResponseSchema, { payload: { case: "heartbeat", value: { serverTime: 1n } } });
          let n = req.after ? Number(req.after) + 1 : 1;
          for (let i = 0; i < req.count; i++, n++) {
            yield create(WatchResponseSchema, { payload: { case: "item", value: { id: String(n), text: `item ${n}`, data: { n, nested: { list: [n, null, "x"] } } } } });
          }
          if (req.fail) throw apiError(req.fail as ErrorWord, `stream failed with ${req.fail}`);
          if (req.hold) {
            while (!ctx.signal.aborted) await sleep(10_000, ctx.signal);
            state.cancelled++;
          }
        },
        async *count(req) {
          for (let n = 1; n <= req.to; n++) yield create(CountResponseSchema, { n });
        },
      }),
    interceptors: [errorInterceptor(log), auth],
    renderers: [{ method: "resttest.v1.LibraryService/GetBook", contentType: "image/png", render: (m) => qrPng((m as Book).title) }],
    jsonOptions: { ignoreUnknownFields: false },
    log,
    ...options,
  });
  const listener: Listener = await listen({ host: "127.0.0.1", port: 0, handler, log, ...listenOptions });
  return {
    url: `http://127.0.0.1:${listener.port}`,
    port: listener.port,
    state,
    close: () => listener.close(500),
  };
}
