import { create, type DescField, type Message } from "@bufbuild/protobuf";
import { FeatureSet_FieldPresence } from "@bufbuild/protobuf/wkt";
import type { HttpBinding } from "./http-rule.js";
import { FieldError, readFieldJson, readMessageJson } from "./json-read.js";
import { readEnum, readScalar, ValueError } from "./scalar-value.js";

/** The parts of a REST request the request message is built from. */
export interface RestRequestParts {
  /** The raw path segments the binding matched. */
  segments: string[];
  /** The raw query string, without `?`. */
  query: string;
  /** The parsed JSON body; undefined when there is none. */
  body: unknown;
}

/**
 * Builds the request message of `binding` from path variables, the body rule
 * and query parameters. Throws a {@link FieldError} naming the offending
 * field, path variable or query parameter.
 */
export function buildRequestMessage(binding: HttpBinding, parts: RestRequestParts): Message {
  const desc = binding.method.input;
  const msg = create(desc);
  if (parts.body !== undefined) {
    if (binding.body === "*") readMessageJson(desc, parts.body, msg);
    else if (binding.body) {
      if (parts.body !== null) setField(msg, binding.body, readFieldJson(binding.body, parts.body, binding.body.jsonName, 0));
    } else if (!isEmptyObject(parts.body)) {
      throw new FieldError("body", "this route takes no request body");
    }
  }
  const t = binding.template;
  const lastIsDoubleStar = t.segments[t.segments.length - 1]?.kind === "double-star";
  for (let i = 0; i < t.variables.length; i++) {
    const v = t.variables[i]!;
    const pf = binding.pathFields[i]!;
    const end = lastIsDoubleStar && v.end === t.segments.length ? parts.segments.length : v.end;
    let text: string;
    try {
      text = parts.segments.slice(v.start, end).map(decodeURIComponent).join("/");
    } catch {
      throw new FieldError(pf.name, "is not valid percent-encoding");
    }
    const value = readText(pf.fields[pf.fields.length - 1]!, text, pf.name);
    const current = getPath(msg, pf.fields);
    if (current !== undefined && String(current) !== String(value)) throw new FieldError(pf.name, "must match the URL path");
    setPath(msg, pf.fields, value);
  }
  if (parts.query !== "") {
    const seen = new Set<DescField>();
    for (const [name, raw] of new URLSearchParams(parts.query)) {
      const qf = binding.query.get(name);
      if (!qf) throw new FieldError(name, "unknown query parameter");
      const leaf = qf.fields[qf.fields.length - 1]!;
      const value = readText(leaf, raw, qf.name);
      if (leaf.fieldKind === "list") {
        const list = (getPath(msg, qf.fields) as unknown[] | undefined) ?? [];
        list.push(value);
        setPath(msg, qf.fields, list);
      } else {
        if (seen.has(leaf)) throw new FieldError(qf.name, "is given more than once");
        seen.add(leaf);
        setPath(msg, qf.fields, value);
      }
    }
  }
  return msg;
}

/** Reads a scalar or enum (or one element of a repeated one) from path or query text. */
export function readText(field: DescField, text: string, name: string): unknown {
  try {
    if (field.fieldKind === "scalar") return readScalar(field.scalar, text, true, field.longAsString);
    if (field.fieldKind === "enum") return readEnum(field.enum, /^-?\d+$/.test(text) ? Number(text) : text);
    if (field.fieldKind === "list" && field.listKind === "scalar") return readScalar(field.scalar, text, true, field.longAsString);
    if (field.fieldKind === "list" && field.listKind === "enum") return readEnum(field.enum, /^-?\d+$/.test(text) ? Number(text) : text);
  } catch (err) {
    if (err instanceof ValueError) throw new FieldError(name, err.message);
    throw err;
  }
  throw new FieldError(name, "cannot be set from text");
}

function isEmptyObject(v: unknown): boolean {
  return typeof v === "object" && v !== null && !Array.isArray(v) && Object.keys(v).length === 0;
}

type Rec = Record<string, unknown>;

function getField(m: Rec, f: DescField): unknown {
  if (f.oneof) {
    const o = m[f.oneof.localName] as { case: string | undefined; value?: unknown };
    return o.case === f.localName ? o.value : undefined;
  }
  const v = m[f.localName];
  // Implicit-presence defaults count as unset.
  if ((v === "" || v === 0 || v === 0n || v === false) && f.presence === FeatureSet_FieldPresence.IMPLICIT) return undefined;
  return v;
}

function setField(m: Message, f: DescField, value: unknown): void {
  const r = m as unknown as Rec;
  if (f.oneof) r[f.oneof.localName] = { case: f.localName, value };
  else r[f.localName] = value;
}

function getPath(msg: Message, fields: DescField[]): unknown {
  let cur: Rec | undefined = msg as unknown as Rec;
  for (let i = 0; i < fields.length - 1; i++) {
    cur = getField(cur, fields[i]!) as Rec | undefined;
    if (cur === undefined) return undefined;
  }
  return getField(cur, fields[fields.length - 1]!);
}

function setPath(msg: Message, fields: DescField[], value: unknown): void {
  let cur = msg;
  for (let i = 0; i < fields.length - 1; i++) {
    const f = fields[i]!;
    let next = getField(cur as unknown as Rec, f) as Message | undefined;
    if (next === undefined && f.fieldKind === "message") {
      next = create(f.message);
      setField(cur, f, next);
    }
    cur = next!;
  }
  setField(cur, fields[fields.length - 1]!, value);
}
