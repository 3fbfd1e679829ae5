import { type DescEnum, type DescField, type DescMessage, type Message, ScalarType, toJson } from "@bufbuild/protobuf";
import { base64Encode } from "@bufbuild/protobuf/wire";
import { isWrapperDesc } from "@bufbuild/protobuf/wkt";
import { enumWordOf } from "./enum-word.js";
import { isWellKnown } from "./json-read.js";

type Writer = (value: unknown) => string;

interface FieldPlan {
  key: string;
  field: DescField;
  /** The oneof's local name when the field is a oneof member. */
  oneof: string | undefined;
  local: string;
  /** Absent (undefined) is written as `null`. */
  write: Writer;
}

const plans = new WeakMap<DescMessage, FieldPlan[]>();

/**
 * Writes a message as JSON text in the contract's profile: every field
 * present, `null` for unset optional, message and oneof fields, int64 as
 * exact JSON numbers, enums as lowercase words, lowerCamel keys.
 */
export function writeMessageJson(desc: DescMessage, message: Message): string {
  if (isWellKnown(desc)) return JSON.stringify(toJson(desc, message));
  const plan = planOf(desc);
  const m = message as unknown as Record<string, unknown>;
  let out = "{";
  for (let i = 0; i < plan.length; i++) {
    const p = plan[i]!;
    let v: unknown;
    if (p.oneof !== undefined) {
      const o = m[p.oneof] as { case: string | undefined; value?: unknown };
      v = o.case === p.local ? o.value : undefined;
    } else {
      v = m[p.local];
    }
    out += (i === 0 ? "" : ",") + p.key + (v === undefined ? "null" : p.write(v));
  }
  return `${out}}`;
}

/** Writes the value of one field (as held by a message) as JSON text; `null` when absent. */
export function writeFieldJson(field: DescField, value: unknown): string {
  if (value === undefined) return "null";
  return writerOf(field)(value);
}

function planOf(desc: DescMessage): FieldPlan[] {
  let plan = plans.get(desc);
  if (!plan) {
    plan = [];
    plans.set(desc, plan); // set before recursing: recursive types
    for (const field of desc.fields) {
      plan.push({
        key: `${JSON.stringify(field.jsonName)}:`,
        field,
        oneof: field.oneof?.localName,
        local: field.localName,
        write: writerOf(field),
      });
    }
  }
  return plan;
}

function writerOf(field: DescField): Writer {
  switch (field.fieldKind) {
    case "scalar":
      return scalarWriter(field.scalar);
    case "enum":
      return enumWriter(field.enum);
    case "message":
      return messageWriter(field.message);
    case "list": {
      const w = field.listKind === "scalar" ? scalarWriter(field.scalar) : field.listKind === "enum" ? enumWriter(field.enum) : messageWriter(field.message);
      return (v) => `[${(v as unknown[]).map(w).join(",")}]`;
    }
    case "map": {
      const w = field.mapKind === "scalar" ? scalarWriter(field.scalar) : field.mapKind === "enum" ? enumWriter(field.enum) : messageWriter(field.message);
      return (v) => `{${Object.entries(v as Record<string, unknown>).map(([k, x]) => `${JSON.stringify(k)}:${w(x)}`).join(",")}}`;
    }
  }
}

function messageWriter(desc: DescMessage): Writer {
  if (!isWellKnown(desc)) return (v) => writeMessageJson(desc, v as Message);
  const wrapped = isWrapperDesc(desc) ? scalarWriter((desc.fields[0] as DescField & { scalar: ScalarType }).scalar) : undefined;
  return (v) => {
    // protobuf-es holds Struct fields as plain JSON objects and singular
    // wrapper fields as plain values; anything else is a message.
    if (typeof v !== "object" || v === null || !("$typeName" in v)) return wrapped ? wrapped(v) : JSON.stringify(v);
    return JSON.stringify(toJson(desc, v as Message));
  };
}

function enumWriter(e: DescEnum): Writer {
  return (v) => {
    const word = enumWordOf(e, v as number);
    return word === undefined ? String(v) : JSON.stringify(word);
  };
}

const writeString: Writer = (v) => JSON.stringify(v);
const writeNumber: Writer = (v) => {
  const n = v as number;
  return Number.isFinite(n) ? JSON.stringify(n) : JSON.stringify(String(n));
};
const writeInteger: Writer = (v) => String(v);

function scalarWriter(type: ScalarType): Writer {
  switch (type) {
    case ScalarType.STRING:
      return writeString;
    case ScalarType.BOOL:
      return (v) => (v ? "true" : "false");
    case ScalarType.BYTES:
      return (v) => JSON.stringify(base64Encode(v as Uint8Array));
    case ScalarType.FLOAT:
    case ScalarType.DOUBLE:
      return writeNumber;
    default:
      // int32..uint64: exact decimal digits, int64 included (bigint or string).
      return writeInteger;
  }
}
