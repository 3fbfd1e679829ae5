import type { Message } from "@bufbuild/protobuf";
import type { HandlerContext } from "@connectrpc/connect";

/**
 * A response message on its way to a client. `key`, when set, is the same
 * object for every stream that sends this message (the hub's `StoredEvent`),
 * so a transport can encode the message once per wire format and write the
 * same bytes to every stream; undefined for per-stream messages (heartbeats,
 * replays read by one stream).
 */
export interface OutgoingMessage<M extends Message = Message> {
  key: object | undefined;
  /** The message itself, built on first use and shared. */
  message(): M;
  /** True for a heartbeat (a transport may write its own keep-alive form instead). */
  heartbeat: boolean;
}

/** Where a server stream writes: one client's connection, in its protocol's wire format. */
export interface MessageSink<M extends Message = Message> {
  /** Writes one message; false when the connection's buffer is full: send no more until {@link onDrain}. */
  send(m: OutgoingMessage<M>): boolean;
  /** Bytes (or messages) written but not yet taken by the client's connection: a stalled client never lowers it. */
  buffered(): number;
  /** Calls `cb` once when the buffer has room again (or the connection closed). */
  onDrain(cb: () => void): void;
  /** Holds the next writes until {@link uncork}, to send them together. */
  cork(): void;
  uncork(): void;
}

/**
 * Bytes a connection may hold unsent before its stream counts as blocked
 * (Node's own high-water mark is 16 KiB): a client that reads in bursts
 * does not flip its stream to buffering at every event. At most this much
 * per stream is held beyond the kernel's socket buffer.
 */
export const sinkSoftLimitBytes = 64 * 1024;

/** Memoizes an encoding per shared message (by `key`), so each is encoded once per format. */
export function sharedEncoding<M extends Message, T>(encode: (message: M) => T): (m: OutgoingMessage<M>) => T {
  const cache = new WeakMap<object, T>();
  return (m) => {
    if (m.key === undefined) return encode(m.message());
    let out = cache.get(m.key);
    if (out === undefined) {
      out = encode(m.message());
      cache.set(m.key, out);
    }
    return out;
  };
}

/**
 * Where a server-streaming implementation keeps its direct form: a function
 * that writes to a transport's {@link MessageSink} itself instead of yielding
 * messages one by one.
 */
export const kDirectStream = Symbol.for("wagateway.directStream");

/**
 * The direct form of a server stream: validates `input` (throwing the call's
 * error before anything is written), starts writing into `sink`, and
 * resolves with `done`, a promise of the stream's end (rejected with the
 * error that ended it).
 */
export type StreamImplementation = (input: Message, ctx: HandlerContext, sink: MessageSink) => Promise<{ done: Promise<void> }>;
