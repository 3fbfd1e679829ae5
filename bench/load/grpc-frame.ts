import { type DescMessage, type MessageInitShape, create, toBinary } from "@bufbuild/protobuf";

/** A gRPC / Connect-streaming length-prefixed message: flag byte 0, 4-byte big-endian length, protobuf bytes. */
export function grpcFrame<D extends DescMessage>(schema: D, init: MessageInitShape<D>): Buffer {
  const bytes = toBinary(schema, create(schema, init));
  const out = Buffer.alloc(5 + bytes.byteLength);
  out.writeUInt32BE(bytes.byteLength, 1);
  out.set(bytes, 5);
  return out;
}

/** The protobuf bytes of a message (Connect binary unary body). */
export function protoBytes<D extends DescMessage>(schema: D, init: MessageInitShape<D>): Buffer {
  return Buffer.from(toBinary(schema, create(schema, init)));
}
