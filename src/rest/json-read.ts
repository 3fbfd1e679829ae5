import { create, type DescField, type DescMessage, fromJson, type JsonValue, type Message, ScalarType } from "@bufbuild/protobuf";
import { isWrapperDesc } from "@bufbuild/protobuf/wkt";
import { readEnum, readScalar, ValueError } from "./scalar-value.js";

/** A request value that does not fit the message; `field` is its JSON path. */
export class FieldError extends Error {
  override name = "FieldError";
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

/** Deepest nesting of objects and arrays accepted in a request body. */
export const maxJsonDepth = 32;

interface FieldIndex {
  byName: Map<string, DescField>;
}

const indexCache = new WeakMap<DescMessage, FieldIndex>();

function indexOf(desc: DescMessage): FieldIndex {
  let idx = indexCache.get(desc);
  if (!idx) {
    const byName = new Map<string, DescField>();
    for (const f of desc.fields) {
      byName.set(f.jsonName, f);
      byName.set(f.name, f);
    }
    indexCache.set(desc, (idx = { byName }));
  }
  return idx;
}

/** True for google.protobuf types whose JSON form protobuf-es reads itself (Struct, Timestamp, ...). */
export function isWellKnown(desc: DescMessage): boolean {
  return desc.typeName.startsWith("google.protobuf.");
}

const join = (path: string, key: string) => (path === "" ? key : `${path}.${key}`);

/**
 * Merges a JSON object of the contract's profile into `target` (a message of
 * `desc`): lowerCamel or proto names, `null` = absent, integers as numbers or
 * decimal strings, enums as words. Unknown keys and wrong types throw a
 * {@link FieldError} naming the field.
 */
export function readMessageJson(desc: DescMessage, json: unknown, target: Message, path = "", depth = 0): void {
  if (depth > maxJsonDepth) throw new FieldError(path || "body", "is nested too deeply");
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new FieldError(path || "body", "must be a JSON object");
  }
  const { byName } = indexOf(desc);
  const t = target as unknown as Record<string, unknown>;
  for (const key of Object.keys(json)) {
    const value = (json as Record<string, unknown>)[key];
    const field = byName.get(key);
    const fieldPath = join(path, field?.jsonName ?? key);
    if (!field) throw new FieldError(fieldPath, "unknown field");
    if (value === null && !(field.fieldKind === "message" && field.message.typeName === "google.protobuf.Value")) continue;
    const v = readFieldJson(field, value, fieldPath, depth + 1);
    if (field.oneof) {
      const current = t[field.oneof.localName] as { case: string | undefined };
      if (current.case !== undefined && current.case !== field.localName) {
        throw new FieldError(fieldPath, `only one of ${field.oneof.fields.map((f) => f.jsonName).join(", ")} may be set`);
      }
      t[field.oneof.localName] = { case: field.localName, value: v };
    } else {
      t[field.localName] = v;
    }
  }
}

/** Reads the value of one field (singular, list or map) from JSON. */
export function readFieldJson(field: DescField, value: unknown, path: string, depth: number): unknown {
  try {
    switch (field.fieldKind) {
      case "scalar":
        return readScalar(field.scalar, value, false, field.longAsString);
      case "enum":
        return readEnum(field.enum, value);
      case "message":
        if (isWrapperDesc(field.message) && !field.oneof) {
          // Singular wrapper fields hold the plain value.
          const inner = field.message.fields[0]!;
          return readScalar((inner as DescField & { scalar: ScalarType }).scalar, value, false);
        }
        return readMessageValue(field.message, value, path, depth);
      case "list": {
        if (!Array.isArray(value)) throw new ValueError("must be an array");
        return value.map((item, i) => {
          const p = `${path}[${i}]`;
          if (item === null) throw new FieldError(p, "must not be null");
          try {
            if (field.listKind === "scalar") return readScalar(field.scalar, item, false, field.longAsString);
            if (field.listKind === "enum") return readEnum(field.enum, item);
            return readMessageValue(field.message, item, p, depth + 1);
          } catch (err) {
            throw err instanceof ValueError ? new FieldError(p, err.message) : err;
          }
        });
      }
      case "map": {
        if (typeof value !== "object" || value === null || Array.isArray(value)) throw new ValueError("must be a JSON object");
        const out: Record<string, unknown> = {};
        for (const [k, item] of Object.entries(value)) {
          const p = `${path}.${k}`;
          try {
            const key = readMapKey(field.mapKey, k);
            if (item === null) throw new ValueError("must not be null");
            out[key] =
              field.mapKind === "scalar"
                ? readScalar(field.scalar, item, false, false)
                : field.mapKind === "enum"
                  ? readEnum(field.enum, item)
                  : readMessageValue(field.message, item, p, depth + 1);
          } catch (err) {
            throw err instanceof ValueError ? new FieldError(p, err.message) : err;
          }
        }
        return out;
      }
    }
  } catch (err) {
    throw err instanceof ValueError ? new FieldError(path, err.message) : err;
  }
}

function readMapKey(type: ScalarType, key: string): string {
  if (type === ScalarType.STRING) return key;
  const v = readScalar(type, key, true);
  return String(v);
}

function readMessageValue(desc: DescMessage, value: unknown, path: string, depth: number): Message {
  if (isWellKnown(desc)) {
    if (jsonDepth(value, maxJsonDepth - depth) < 0) throw new FieldError(path, "is nested too deeply");
    if (desc.typeName === "google.protobuf.Struct") {
      // Struct fields are held as the plain JSON object.
      if (typeof value !== "object" || value === null || Array.isArray(value)) throw new FieldError(path, "must be a JSON object");
      return value as Message;
    }
    try {
      return fromJson(desc, value as JsonValue, { ignoreUnknownFields: false });
    } catch (err) {
      throw new FieldError(path, err instanceof Error ? err.message.replace(/^cannot decode [^:]*: /, "") : "invalid value");
    }
  }
  const msg = create(desc);
  readMessageJson(desc, value, msg, path, depth);
  return msg;
}

/** Remaining depth budget after walking `v`; negative when `v` is nested deeper than `budget`. */
function jsonDepth(v: unknown, budget: number): number {
  if (budget < 0) return budget;
  if (typeof v !== "object" || v === null) return budget;
  let min = budget;
  for (const child of Array.isArray(v) ? v : Object.values(v)) {
    const r = jsonDepth(child, budget - 1);
    if (r < min) min = r;
    if (min < 0) return min;
  }
  return min;
}
