import type { DescField, DescMessage, Message } from "@bufbuild/protobuf";
import type { HttpBinding } from "./http-rule.js";
import { writeFieldJson, writeMessageJson } from "./json-write.js";

/** One streamed message in REST form. */
export type RestStreamItem = { kind: "heartbeat" } | { kind: "result"; json: string; id: string | undefined };

/** Turns a streamed response message into its REST item. */
export type StreamItemMapper = (message: Message) => RestStreamItem;

/**
 * How a binding's stream messages are sent: the `response_body` field when
 * set; else, for a message that is a single oneof (e.g. `{event | heartbeat}`),
 * the member that is set, where a member of a `Heartbeat` type becomes a
 * heartbeat; else the whole message. The SSE `id:` is the item's `id` field.
 */
export function streamItemMapper(binding: HttpBinding): StreamItemMapper {
  const out = binding.method.output;
  if (binding.responseBody) {
    const f = binding.responseBody;
    return (m) => {
      const v = (m as unknown as Record<string, unknown>)[f.localName];
      return { kind: "result", json: writeFieldJson(f, v), id: idOf(f.fieldKind === "message" ? f.message : undefined, v) };
    };
  }
  const oneof = out.oneofs.length === 1 && out.oneofs[0]!.fields.length === out.fields.length ? out.oneofs[0]! : undefined;
  if (oneof) {
    const members = new Map<string, { field: DescField; heartbeat: boolean }>();
    for (const f of oneof.fields) {
      const heartbeat = f.name === "heartbeat" || (f.fieldKind === "message" && f.message.name === "Heartbeat");
      members.set(f.localName, { field: f, heartbeat });
    }
    return (m) => {
      const o = (m as unknown as Record<string, { case: string | undefined; value?: unknown }>)[oneof.localName]!;
      const member = o.case === undefined ? undefined : members.get(o.case);
      if (!member) return { kind: "heartbeat" };
      if (member.heartbeat) return { kind: "heartbeat" };
      const f = member.field;
      return { kind: "result", json: writeFieldJson(f, o.value), id: idOf(f.fieldKind === "message" ? f.message : undefined, o.value) };
    };
  }
  return (m) => ({ kind: "result", json: writeMessageJson(out, m), id: idOf(out, m) });
}

function idOf(desc: DescMessage | undefined, value: unknown): string | undefined {
  if (!desc || value === undefined || !desc.fields.some((f) => f.name === "id")) return undefined;
  const id = (value as Record<string, unknown>).id;
  if (id === undefined || id === "" || id === null) return undefined;
  return String(id).replace(/[\r\n]/g, "");
}
